"""slimbench run --track T --method M --target X | --suite NAME [--seeds 0,1,2] [--executor ray]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub):
    p = sub.add_parser("run", help="run one (track, method, target) or a named suite; writes records")
    p.add_argument("--track")
    p.add_argument("--method", help="registered name, path/to/file.py:Class, or a chain a+b")
    p.add_argument("--target")
    p.add_argument("--suite", help="run a named suite (see `slimbench list suites`)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="method config (repeatable)")
    p.add_argument("--store", type=Path, default=None, help="record store directory (default ./results)")
    p.add_argument("--quick", action="store_true", help="short latency loops (smoke runs; numbers are noisier)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess probe")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run N independent sessions (fresh processes), one record each, then their median and "
                        "spread (suite/repeat.py)")
    p.add_argument("--repeat-tag", default=None, help=argparse.SUPPRESS)  # GROUP:I:N, set by --repeat's parent
    suite = p.add_argument_group("suites", "how a --suite runs (see docs/distributed.md)")
    suite.add_argument("--seeds", help="run the suite once per seed, e.g. 0,1,2 (default: the suite's own)")
    suite.add_argument("--executor", choices=["local", "ray"], default="local",
                       help="local: one run after another in this process; ray: one Ray task per run on a cluster")
    suite.add_argument("--ray-address", help="Ray cluster to join, HEAD:PORT (default $RAY_ADDRESS, else the "
                                             "cluster started on this machine)")
    suite.add_argument("--max-retries", type=int, default=None,
                       help="ray: times a run is retried when its worker or node dies (default 2)")
    suite.add_argument("--no-resume", action="store_true",
                       help="run every run again, even those whose record (same run key) is already in the store")
    suite.add_argument("--retry-failed", action="store_true",
                       help="resume, but run again the runs whose only record is a failed one")
    p.set_defaults(func=run)


SPEEDUP_LEGEND = ("speedup = fp32 p50 / method p50 at batch 1, measured interleaved in this session; "
                  "b64 speedup = offline throughput ratio at batch 64; [low, high] = 95% confidence interval "
                  "(docs/measurement.md).")


def parse_params(pairs: list[str]) -> dict[str, str]:
    from suite.errors import ConfigError
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param expects KEY=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def check_config(session, spec) -> None:
    """Refuse an unknown or ill-typed --param (the error lists the valid names) before any run starts: the
    method is configured once here (a submitted one in its sandbox), nothing is recorded."""
    _, method_cls, _ = session.resolve(spec)
    session.applier.configure(method_cls, spec)


def make_session(args):
    from suite.executors.plan import KeyedSession
    from suite.measure.latency import QUICK, LatencySettings
    from suite.paths import default_store

    from suite.repeat import parse_tag, tagged_session

    from suite.submission.launcher import isolated

    # Submitted methods (files, entry points, chains with such a stage) run isolated; built-ins in-process.
    session = KeyedSession(args.store or default_store(), settings=QUICK if args.quick else LatencySettings(),
                           measure_memory=not args.no_memory, applier=isolated())
    return tagged_session(session, parse_tag(getattr(args, "repeat_tag", None)))


def make_executor(args):
    """None for the local executor, else the RayExecutor the flags describe."""
    from suite.errors import ConfigError

    if args.executor == "local":
        given = [flag for flag, value in (("--ray-address", args.ray_address), ("--max-retries", args.max_retries))
                 if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} only apply with --executor ray")
        return None
    from suite.executors.ray_executor import DEFAULT_MAX_RETRIES, RayExecutor
    return RayExecutor(args.ray_address, DEFAULT_MAX_RETRIES if args.max_retries is None else args.max_retries)


def run(args) -> int:
    from suite.errors import ConfigError
    from suite.harness import RunSpec
    from suite.report import format_table

    session = make_session(args)
    if args.suite:
        if args.track or args.method or args.target:
            raise ConfigError("--suite runs a fixed matrix; do not combine it with --track/--method/--target")
        if args.repeat != 1:
            raise ConfigError("--repeat applies to a single run (--track/--method/--target); a suite takes --seeds")
        from suite.executors.plan import parse_seeds
        return run_suite(session, args.suite, seeds=parse_seeds(args.seeds), executor=make_executor(args),
                         resume=not args.no_resume, retry_failed=args.retry_failed)
    suite_only = [flag for flag, value in (("--seeds", args.seeds), ("--ray-address", args.ray_address),
                                           ("--max-retries", args.max_retries))
                  if value is not None] + ["--executor ray"] * (args.executor == "ray")
    if suite_only:
        raise ConfigError(f"{', '.join(suite_only)} apply to suites (--suite NAME); a single run uses --seed")
    missing = [flag for flag, value in (("--track", args.track), ("--method", args.method),
                                         ("--target", args.target)) if not value]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (or use --suite NAME)")
    spec = RunSpec(args.track, args.method, args.target, args.seed, parse_params(args.param))
    check_config(session, spec)
    if args.repeat != 1:
        from suite.repeat import run_repeats
        return run_repeats(args)
    record = session.run(spec)
    print(format_table([record]))
    print(f"\n{SPEEDUP_LEGEND}\nrecord: {session.store.root / (record['id'] + '.json')}")
    if record["status"] != "ok":
        print(f"\nrun failed ({record['error']['phase']}): {record['error']['type']}: {record['error']['message']}",
              file=sys.stderr)
        return 1
    return 0


def run_suite(session, name: str, seeds: list[int] | None = None, executor=None, resume: bool = True,
              retry_failed: bool = False) -> int:
    """Run suite `name` (once per seed) with `executor` (None: locally, in this process). Runs whose record
    (same run key) is already in the store are skipped unless resume=False: a suite killed midway and started
    again runs only what is missing."""
    from suite.executors.local import run_local
    from suite.executors.plan import plan_suite, with_seeds
    from suite.report import format_table
    from suite.suites import get_suite

    plan = plan_suite(session, with_seeds(get_suite(name), seeds), resume=resume, retry_failed=retry_failed)
    if plan.done:
        print(f"resume: {len(plan.done)} of {len(plan.specs)} run(s) already recorded in {session.store.root}; "
              f"running the other {len(plan.todo)} (--no-resume runs them all)")
    todo = [plan.specs[i] for i in plan.todo]
    if executor is None:
        outcome = run_local(session, todo, desc=f"suite {name}")
    else:
        outcome = executor.run(session, todo, [plan.keys[i] for i in plan.todo], desc=f"suite {name}")
    new = {r["config"].get("run_key"): r for r in outcome.records}
    records = [new.get(key) or plan.done.get(key) for key in plan.keys]
    records = [r for r in records if r is not None] + [r for r in outcome.records if r["config"].get("run_key")
                                                       not in plan.keys]
    print(f"\nsuite {name}: {len(outcome.records)} new record(s), {len(plan.done)} already recorded, "
          f"in {session.store.root}")
    print(format_table(records))
    skipped = outcome.not_run
    if skipped:
        print("\nskipped:\n  " + "\n  ".join(skipped))
    if outcome.setup_errors:
        print(f"\n{len(outcome.setup_errors)} run(s) could not run on their node (no record written; fix the node "
              f"and run the same command again):\n  " + "\n  ".join(outcome.setup_errors), file=sys.stderr)
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        print(f"\n{len(failed)} run(s) failed; see `slimbench show ID` for the traceback", file=sys.stderr)
    print(f"\n{SPEEDUP_LEGEND}")
    return 1 if failed or outcome.setup_errors else 0
