"""slimbench submit METHOD [--tracks ...] [--targets ...] [--out BUNDLE]"""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub):
    p = sub.add_parser("submit", help="run a submitted method on the closed-division matrix and write a bundle")
    p.add_argument("method", help="path/to/file.py:ClassName, an installed entry point, or a chain with such a "
                                  "stage (a+path/to/file.py:Class+b)")
    p.add_argument("--tracks", nargs="+", default=None,
                   help="default: digits-mlp and the MNIST tracks whose data is available")
    p.add_argument("--targets", nargs="+", default=None, help="default: cpu edge cpu-torch (those available)")
    p.add_argument("--out", type=Path, default=None, help="bundle directory, or a .tar.gz (default submission-<name>.tar.gz)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="method config (repeatable)")
    p.add_argument("--check-determinism", action="store_true",
                   help="apply the method twice with the same seed; differing results fail the run")
    p.add_argument("--quick", action="store_true", help="short latency loops (smoke runs; numbers are noisier)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocess probe")
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from suite.commands.run import parse_params
    from suite.measure.latency import QUICK, LatencySettings
    from suite.paths import default_store
    from suite.report import format_table
    from suite.submission.isolation import IsolationSettings
    from suite.submission.submit import submit

    out = args.out or Path(f"submission-{_slug(args.method)}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz")
    result = submit(args.method, out, tracks=args.tracks, targets=args.targets, seed=args.seed,
                    params=parse_params(args.param), settings=QUICK if args.quick else LatencySettings(),
                    isolation=IsolationSettings(check_determinism=args.check_determinism,
                                                extra_guard_dirs=(default_store(),)),
                    measure_memory=not args.no_memory,
                    progress=lambda s: print(f"running {s.track} (trained once) / {s.target} ...", flush=True))
    print(format_table(result.records))
    if result.skipped:
        print("\nskipped:\n  " + "\n  ".join(result.skipped))
    print(f"\nbundle: {result.bundle}")
    failed = [r for r in result.records if r["status"] != "ok"]
    if failed:
        print(f"\n{len(failed)} run(s) failed; `slimbench ingest` will refuse this bundle:", file=sys.stderr)
        for r in failed:
            e = r["error"]
            print(f"  {r['config']['track']} / {r['config']['target']}: {e['type']}: {e['message'][:300]}",
                  file=sys.stderr)
        return 1
    print(f"next: slimbench ingest {result.bundle}   (then: slimbench reproduce {result.bundle})")
    return 0


def _slug(spec: str) -> str:
    from suite.methodspec import FILE, MethodSpec

    name = "+".join(s.class_name if s.kind == FILE else s.text for s in MethodSpec.parse(spec).stages)
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "method"
