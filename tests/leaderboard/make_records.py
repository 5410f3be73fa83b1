"""Generate a small store of *real* harness records on digits-mlp for the leaderboard tests and the
README screenshots: fp32 and two fixture methods on cpu and edge, one genuinely failed run, and one
reproduction of the fp32 cpu entry (a second session with kind="reproduction").

    .venv/bin/python tests/leaderboard/make_records.py /tmp/lbdemo [--memory] [--full-latency]

Quick latency settings by default (seconds in all); the numbers are real but noisy."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the repo root, when run as a script
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FIXTURES = HERE / "fixture_methods.py"
PRUNE = f"{FIXTURES}:FixtureMagnitudePrune"
INT8 = f"{FIXTURES}:FixtureOrtDynamicInt8"
FAILS = f"{FIXTURES}:FixtureAlwaysFails"


def make_records(store: Path, workdir: Path, memory: bool = False, quick: bool = True) -> list[dict]:
    from suite.harness import RunSpec, Session
    from suite.measure.latency import QUICK, LatencySettings

    settings = QUICK if quick else LatencySettings()
    runs = Session(store, settings=settings, workdir=workdir, measure_memory=memory)
    specs = [RunSpec("digits-mlp", "fp32", "cpu"), RunSpec("digits-mlp", "fp32", "edge"),
             RunSpec("digits-mlp", PRUNE, "cpu", params={"sparsity": 0.5}),
             RunSpec("digits-mlp", PRUNE, "edge", params={"sparsity": 0.5}),
             RunSpec("digits-mlp", INT8, "cpu"),
             RunSpec("digits-mlp", FAILS, "cpu")]
    records = [runs.run(spec) for spec in specs]
    reproduction = Session(store, settings=settings, workdir=workdir, measure_memory=memory, kind="reproduction")
    records.append(reproduction.run(RunSpec("digits-mlp", "fp32", "cpu")))
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--memory", action="store_true", help="run the peak-memory probe (slower)")
    parser.add_argument("--full-latency", action="store_true", help="default latency settings instead of quick")
    args = parser.parse_args(argv)
    records = make_records(args.store, args.store.parent / (args.store.name + "-work"), memory=args.memory,
                           quick=not args.full_latency)
    from suite.report import format_table
    print(format_table(records))
    print(f"\n{len(records)} records in {args.store}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
