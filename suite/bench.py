"""The harness's own overhead: p50 from `measure_single_stream` vs a bare tight loop calling the runtime
directly, on the same artifact and inputs, interleaved in one run."""
from __future__ import annotations

import time

import numpy as np


def bare_call(runner):
    """The runtime's own call, with no harness wrapper around it."""
    if hasattr(runner, "session"):  # ONNX Runtime
        session, outs, name = runner.session, runner.output_names, runner.input_name
        return lambda x: session.run(outs, {name: x})
    if hasattr(runner, "_by_batch"):  # LiteRT: set / invoke / get on the batch-1 interpreter
        bound = runner._get(1)
        interpreter, i_idx, o_idx = bound.interpreter, bound.in_index, bound.out_index

        def call(x):
            interpreter.set_tensor(i_idx, x)
            interpreter.invoke()
            return interpreter.get_tensor(o_idx)
        return call
    raise ValueError(f"no bare loop for {type(runner).__name__}")


def bare_loop(call, inputs: list[np.ndarray], n: int) -> list[float]:
    clock = time.perf_counter
    out = []
    for i in range(n):
        x = inputs[i % len(inputs)]
        t0 = clock()
        call(x)
        out.append(clock() - t0)
    return out


def bench_harness(track_name: str = "mnist-lenet5", target_name: str = "cpu", rounds: int = 10,
                  queries: int = 2000, workdir=None) -> dict:
    import tempfile
    from pathlib import Path

    from suite.harness import Session
    from suite.measure.latency import LatencySettings, measure_single_stream
    from suite.targets import get_target
    from suite.targets.base import to_layout
    from suite.tracks import get_track

    track, target = get_track(track_name), get_target(target_name)
    splits = track.load_splits()
    tmp = Path(workdir or tempfile.mkdtemp(prefix="slimbench-bench-"))
    baseline = Session(tmp / "store", workdir=tmp).baseline(track, target, splits)  # the fp32 artifact, loaded
    artifact, runner = baseline.artifact, baseline.runner
    x = to_layout(splits.calibration.x.astype(np.float32), artifact.input_layout)
    inputs = [np.ascontiguousarray(x[i:i + 1]) for i in range(64)]
    call = bare_call(runner)
    settings = LatencySettings(warmup=50, min_queries=queries, min_seconds=0.0, rounds=1)
    harness, bare = [], []
    bare_loop(call, inputs, 200)  # warm-up
    for r in range(rounds):
        for which in (("h", "b") if r % 2 == 0 else ("b", "h")):
            if which == "h":
                harness.append(measure_single_stream({"m": runner.predict}, {"m": x}, settings)["m"]["p50_ms"])
            else:
                bare.append(float(np.percentile(bare_loop(call, inputs, queries), 50) * 1e3))
    p50_h, p50_b = float(np.median(harness)), float(np.median(bare))
    return {"track": track_name, "target": target_name, "harness_p50_ms": p50_h, "bare_p50_ms": p50_b,
            "overhead_ratio": p50_h / p50_b, "rounds": rounds, "queries_per_round": queries,
            "harness_round_p50s": harness, "bare_round_p50s": bare}
