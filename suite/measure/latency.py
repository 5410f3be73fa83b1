"""Latency and throughput on real kernels.

Single-stream: batch 1, warm-up, then at least `min_queries` queries *and* at least `min_seconds`;
p50/p90/p99/mean. Offline: batch `offline_batch`, samples per second. Several runners are measured
in interleaved rounds (A B B A A B ...) so that machine drift hits all of them alike; speedups are
ratios of numbers taken in the same rounds."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class LatencySettings:
    warmup: int = 20
    min_queries: int = 200
    min_seconds: float = 1.0
    rounds: int = 4
    offline_batch: int = 64
    offline_min_batches: int = 10
    offline_min_seconds: float = 1.0

    def to_dict(self):
        return asdict(self)


QUICK = LatencySettings(warmup=5, min_queries=20, min_seconds=0.05, rounds=2, offline_min_batches=3,
                        offline_min_seconds=0.05)


def time_calls(fn: Callable, inputs: list[np.ndarray], min_calls: int, min_seconds: float) -> list[float]:
    """Per-call wall times (seconds) of fn(inputs[i % len]); the loop is kept as thin as a bare loop."""
    clock = time.perf_counter
    samples: list[float] = []
    append = samples.append
    n_inputs = len(inputs)
    i = 0
    start = clock()
    while True:
        x = inputs[i % n_inputs]
        t0 = clock()
        fn(x)
        t1 = clock()
        append(t1 - t0)
        i += 1
        if i >= min_calls and t1 - start >= min_seconds:
            return samples


def summarize(samples: list[float]) -> dict:
    ms = np.asarray(samples) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()),
            "n_queries": int(ms.size), "total_s": float(ms.sum() / 1e3)}


def _interleaved(fns: dict[str, Callable], inputs: dict[str, list[np.ndarray]], settings: LatencySettings,
                 min_calls: int, min_seconds: float, warmup: int) -> dict[str, list[float]]:
    names = list(fns)
    for name in names:
        for x in inputs[name][:max(1, warmup)]:
            fns[name](x)
    samples = {name: [] for name in names}
    per_round_calls = max(1, -(-min_calls // settings.rounds))
    per_round_seconds = min_seconds / settings.rounds
    for r in range(settings.rounds):
        order = names if r % 2 == 0 else names[::-1]  # ABBA: neither runner always goes first
        for name in order:
            samples[name].extend(time_calls(fns[name], inputs[name], per_round_calls, per_round_seconds))
    return samples


def measure_single_stream(fns: dict[str, Callable], xs: dict[str, np.ndarray], settings: LatencySettings,
                          n_distinct: int = 64) -> dict[str, dict]:
    """fns: name -> predict; xs: name -> test inputs in that runner's feed layout (the same samples).
    Returns name -> latency summary."""
    inputs = {name: [np.ascontiguousarray(x[i:i + 1]) for i in range(min(n_distinct, len(x)))]
              for name, x in xs.items()}
    samples = _interleaved(fns, inputs, settings, settings.min_queries, settings.min_seconds, settings.warmup)
    return {name: summarize(s) for name, s in samples.items()}


def measure_offline(fns: dict[str, Callable], xs: dict[str, np.ndarray], settings: LatencySettings) -> dict[str, dict]:
    b = settings.offline_batch
    inputs = {name: [np.ascontiguousarray(x[i * b:(i + 1) * b]) for i in range(max(1, min(8, len(x) // b)))]
              for name, x in xs.items()}
    samples = _interleaved(fns, inputs, settings, settings.offline_min_batches, settings.offline_min_seconds,
                           warmup=2)
    out = {}
    for name, s in samples.items():
        arr = np.asarray(s)
        out[name] = {"batch": b, "samples_per_s": float(b * arr.size / arr.sum()),
                     "p50_batch_ms": float(np.percentile(arr, 50) * 1e3), "n_batches": int(arr.size)}
    return out
