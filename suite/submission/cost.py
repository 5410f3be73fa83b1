"""What the sandbox costs: the same method run in-process (as a built-in) and as submitted code.

    python -m suite.submission.cost [--repeats 3] [--track digits-mlp] [--target cpu]

Runs examples/submission/neuron_prune.py:NeuronPrune (no fine-tuning, so the method itself is cheap and
the difference is the sandbox: three sandboxed workers, each a fresh interpreter that imports its
frameworks — describe, apply, measure — plus the files handed in and out), interleaved, and prints the
median wall time of a whole `Session.run` each way and their difference."""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

from suite.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "submission" / "neuron_prune.py"
PARAMS = {"keep_ratio": "0.5", "finetune": "false"}


def _register_in_process() -> str:
    from methods import METHODS

    spec = importlib.util.spec_from_file_location("slimbench_cost_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    cls = type("NeuronPruneInProcess", (module.NeuronPrune,), {"name": "cost-neuron-prune-in-process"})
    if cls.name not in METHODS.names():
        METHODS.register(cls)
    return cls.name


def measure(repeats: int = 3, track: str = "digits-mlp", target: str = "cpu") -> dict:
    from suite.harness import RunSpec, Session
    from suite.measure.latency import QUICK

    builtin = _register_in_process()
    times: dict[str, list[float]] = {"in_process": [], "sandboxed": []}
    with tempfile.TemporaryDirectory() as tmp:
        from suite.submission.launcher import isolated
        session = Session(Path(tmp) / "store", settings=QUICK, workdir=Path(tmp) / "work", measure_memory=False,
                          applier=isolated())
        session.run(RunSpec(track, "fp32", target))  # the fp32 baseline is built once per session: not timed
        for _ in range(repeats):
            for label, method in (("in_process", builtin), ("sandboxed", f"{EXAMPLE}:NeuronPrune")):
                from suite.submission import proxy
                proxy._describe.cache_clear()  # each submitted run describes its method again, as a new session does
                start = time.perf_counter()
                record = session.run(RunSpec(track, method, target, params=dict(PARAMS)))
                times[label].append(time.perf_counter() - start)
                if record["status"] != "ok":
                    raise RuntimeError(f"{label} run failed: {record['error']['message']}")
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {"runs": times, "median_s": medians, "extra_s": medians["sandboxed"] - medians["in_process"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--track", default="digits-mlp")
    parser.add_argument("--target", default="cpu")
    args = parser.parse_args()
    result = measure(args.repeats, args.track, args.target)
    for label, values in result["runs"].items():
        print(f"{label:11s} " + " ".join(f"{v:6.2f}" for v in values) + f"   median {result['median_s'][label]:.2f} s")
    print(f"sandbox cost: {result['extra_s']:+.2f} s per submitted run")


if __name__ == "__main__":
    main()
