"""slimbench reproduce --paper NAME | --list-papers | ID|BUNDLE

Each mode is one branch of a mutually exclusive group dispatched in `run`. Everything behind it lives in the
one reproduction package, suite/reproduce/ (papers: papers.py + runner.py; record re-runs: rerun.py +
compare.py; the one verdict type and its table: verdict.py). The tolerances' defaults are suite/rules.py's."""
from __future__ import annotations

import sys
from pathlib import Path

from suite import rules


def register(sub):
    p = sub.add_parser("reproduce", help="reproduce a published result (prints paper vs measured and PASS/FAIL)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--paper", metavar="NAME", help="a reproduction card in reproductions/ (see --list-papers)")
    mode.add_argument("--list-papers", action="store_true", help="list the papers that can be reproduced")
    mode.add_argument("ref", nargs="?", metavar="ID|BUNDLE",
                      help="re-run a record (id or prefix; local store, then leaderboard/results) or every record "
                           "of a submission bundle from its config and seed; prints a verdict table")
    p.add_argument("--acc-tol", type=float, default=rules.REPRODUCE_ACC_TOL_PP,
                   help=f"ID|BUNDLE: accuracy tolerance in pp (default {rules.REPRODUCE_ACC_TOL_PP:g})")
    p.add_argument("--speed-tol", type=float, default=rules.REPRODUCE_SPEEDUP_TOL_REL,
                   help="ID|BUNDLE: relative tolerance of the speedup ratios, judged only against a record of the "
                        f"same ISA class (default {rules.REPRODUCE_SPEEDUP_TOL_REL:g})")
    p.add_argument("--size-tol", type=float, default=rules.REPRODUCE_SIZE_TOL_REL,
                   help="ID|BUNDLE: relative artifact-size tolerance; the content is judged by its tensor values "
                        f"(default {rules.REPRODUCE_SIZE_TOL_REL:g})")
    p.add_argument("--store", type=Path, default=None, help="record store directory (default ./results)")
    p.add_argument("--seed", type=int, default=None, help="override the card's seed")
    p.add_argument("--quick", action="store_true", help="short latency loops (accuracy is unaffected)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess probe")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.list_papers:
        return list_papers()
    if args.ref:
        from suite.reproduce.rerun import main as reproduce_record
        return reproduce_record(args)
    return reproduce_paper(args)


def list_papers() -> int:
    from suite.reproduce.papers import card_names, load_card, paper_names

    runnable = set(paper_names())
    for name in card_names():
        card = load_card(name)
        setup = card["setup"]
        state = "" if name in runnable else "  (card only: no runner registered)"
        print(f"{name:24s} {card['title']}  [{setup.get('track')} / {setup.get('method')} / "
              f"{setup.get('target', 'cpu')}]{state}")
    return 0


def reproduce_paper(args) -> int:
    from suite.measure.latency import QUICK, LatencySettings
    from suite.paths import default_store
    from suite.reproduce.papers import get_runner, load_card
    from suite.reproduce.runner import ReproduceContext
    from suite.reproduce.runner import reproduce_paper as run_paper
    from suite.reproduce.verdict import format_verdict

    card = load_card(args.paper)   # unknown names fail here, before anything runs
    get_runner(args.paper)
    store = args.store or default_store()
    print(f"reproducing {card['name']}: {card['citation'].get('short', '')}", flush=True)
    print(f"setup: {card['setup']['track']} / {card['setup']['method']} / {card['setup'].get('target', 'cpu')}; "
          f"records -> {store}", flush=True)
    ctx = ReproduceContext(store=store, settings=QUICK if args.quick else LatencySettings(),
                           measure_memory=not args.no_memory, seed=args.seed)
    verdict = run_paper(args.paper, ctx)
    print()
    print(format_verdict(verdict))
    for record in ctx.records:
        print(f"record: {Path(store) / (record['id'] + '.json')}")
    if not verdict.passed:
        print(f"\n{card['name']}: the reproduction did not pass (see the rows marked FAIL above)", file=sys.stderr)
        return 1
    return 0
