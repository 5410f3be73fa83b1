"""Generate a small store of *real* harness records on digits-mlp for the leaderboard tests and the
README screenshots: fp32, torch-magnitude (50% fine-tuned; 80% one-shot), ort-int8-dynamic and tflite-dynamic-range on cpu / edge,
one genuinely failed run (a config the method rejects), and a `slimbench reproduce` of the fp32 cpu
entry (a kind="reproduction" record with a verdict).

    .venv/bin/python tests/leaderboard/make_records.py /tmp/lbdemo [--memory] [--full-latency]

Quick latency settings by default (under a minute in all); the numbers are real but noisy."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root, when run as a script
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRACK = "digits-mlp"
ONESHOT_80 = {"sparsity": 0.8, "schedule": "oneshot", "epochs": 0}  # no fine-tuning: loses accuracy
RUNS = [("fp32", "cpu", {}), ("fp32", "edge", {}),
        ("torch-magnitude", "cpu", {"sparsity": 0.5}), ("torch-magnitude", "edge", {"sparsity": 0.5}),
        ("torch-magnitude", "cpu", ONESHOT_80),
        ("ort-int8-dynamic", "cpu", {}), ("tflite-dynamic-range", "edge", {}),
        ("torch-magnitude", "cpu", {"sparsity": 1.5})]  # rejected by the method's config: a failed record


def make_records(store: Path, workdir: Path, memory: bool = False, quick: bool = True) -> list[dict]:
    from suite.harness import RunSpec, Session
    from suite.measure.latency import QUICK, LatencySettings
    from suite.reproduce.rerun import reproduce

    session = Session(store, settings=QUICK if quick else LatencySettings(), workdir=workdir, measure_memory=memory)
    records = [session.run(RunSpec(TRACK, method, target, 0, params)) for method, target, params in RUNS]
    fp32_cpu = next(r for r in records if r["config"]["method"] == "fp32" and r["config"]["target"] == "cpu")
    for _original, reproduction, _verdict in reproduce(fp32_cpu["id"], Path(store), echo=lambda *_: None):
        records.append(reproduction)
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
