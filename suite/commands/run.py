"""slimbench run --track T --method M --target X | --suite NAME"""
from __future__ import annotations

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
    p.set_defaults(func=run)


def parse_params(pairs: list[str]) -> dict[str, str]:
    from suite.errors import ConfigError
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param expects KEY=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def make_session(args):
    from suite.harness import Session
    from suite.measure.latency import QUICK, LatencySettings
    from suite.paths import default_store

    return Session(args.store or default_store(), settings=QUICK if args.quick else LatencySettings(),
                   measure_memory=not args.no_memory)


def run(args) -> int:
    from suite.errors import ConfigError
    from suite.harness import RunSpec
    from suite.report import format_table

    session = make_session(args)
    if args.suite:
        if args.track or args.method or args.target:
            raise ConfigError("--suite runs a fixed matrix; do not combine it with --track/--method/--target")
        return run_suite(session, args.suite)
    missing = [flag for flag, value in (("--track", args.track), ("--method", args.method),
                                         ("--target", args.target)) if not value]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (or use --suite NAME)")
    spec = RunSpec(args.track, args.method, args.target, args.seed, parse_params(args.param))
    record = session.run(spec)
    print(format_table([record]))
    print(f"\nrecord: {session.store.root / (record['id'] + '.json')}")
    if record["status"] != "ok":
        print(f"\nrun failed ({record['error']['phase']}): {record['error']['type']}: {record['error']['message']}",
              file=sys.stderr)
        return 1
    return 0


def run_suite(session, name: str) -> int:
    from tqdm import tqdm

    from suite.errors import SlimBenchError
    from suite.report import format_table
    from suite.suites import get_suite

    specs = get_suite(name)
    records, skipped = [], []
    bar = tqdm(specs, desc=f"suite {name}", unit="run")
    for spec in bar:
        bar.set_postfix_str(f"{spec.track} {spec.method} {spec.target}")
        try:
            records.append(session.run(spec))
        except SlimBenchError as exc:  # e.g. a target this machine lacks: say so and go on
            skipped.append(f"{spec.track} / {spec.method} / {spec.target}: {exc}")
    bar.close()
    print(f"\nsuite {name}: {len(records)} records in {session.store.root}")
    print(format_table(records))
    if skipped:
        print("\nskipped:\n  " + "\n  ".join(skipped))
    failed = [r for r in records if r["status"] != "ok"]
    if failed:
        print(f"\n{len(failed)} run(s) failed; see `slimbench show ID` for the traceback", file=sys.stderr)
    print("\nspeedup = fp32 p50 / method p50 at batch 1, measured interleaved in this session; "
          "b64 speedup = offline throughput ratio at batch 64.")
    return 1 if failed else 0
