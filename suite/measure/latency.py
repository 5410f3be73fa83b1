"""Latency and throughput on real kernels.

Single-stream: batch 1, warm-up, then at least `min_queries` queries *and* at least `min_seconds`;
p50/p90/p99/mean. Offline: batch `offline_batch`, samples per second. Several runners are measured
in interleaved rounds (A B B A A B ...) so that machine drift hits all of them alike; speedups are
ratios of numbers taken in the same rounds.

Each round also gives one speedup ratio per round (method vs fp32); their spread gives the speedup's
95% confidence interval (`speedup_interval`, method in docs/measurement.md). With `adaptive`, rounds are
added in ABBA pairs until the interval's half-width is at most `target_half_width` or the phase's time cap
is reached; which one stopped it is recorded, with the machine's load around the timing (suite.measure.load).

A fresh runtime session moves the ratio by more than one session's round-to-round noise (weight packing and
memory layout, thread placement: measured 1.47-1.83x for one sst2 int8 artifact across fresh processes, and
the same spread across fresh sessions inside one process). So, given a way to re-create the runners
(`reload`), the rounds are spread over `subsessions` fresh pairs of runtime sessions, and the interval is the
wider of the per-round one and the one over per-sub-session ratios: a record's interval then covers the
between-session spread instead of describing one session only."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from suite.measure import load as machine_load

BASELINE, CANDIDATE = "fp32", "method"  # the runner names whose ratio gets an interval
CI_METHOD = ("95% t-interval over per-round log speedups (round ratio = fp32 / method p50 for single-stream, "
             "mean batch time for offline), centred on the pooled estimate; with sub-sessions (fresh runtime "
             "sessions of both artifacts within the run), the wider of that and the t-interval over the "
             "per-sub-session log speedups; see docs/measurement.md")


@dataclass(frozen=True)
class LatencySettings:
    warmup: int = 20
    min_queries: int = 200
    min_seconds: float = 1.0
    rounds: int = 4
    offline_batch: int = 64
    offline_min_batches: int = 10
    offline_min_seconds: float = 1.0
    # Adaptive stopping (per phase: single-stream, then offline). After the `rounds` minimum, rounds of the
    # same size are added in ABBA pairs until the speedup's 95% interval is within ±target_half_width, or the
    # next pair would pass the time cap: max(max_seconds, max_factor x the minimum rounds' time), so a big
    # track whose minimum already takes long still gets room for more rounds.
    adaptive: bool = True
    target_half_width: float = 0.03
    max_seconds: float = 5.0
    max_factor: float = 3.0
    # Fresh runtime sessions (both artifacts re-loaded) the rounds are spread over, one ABBA pair each, when the
    # caller can re-create its runners; adaptive stopping then adds sub-sessions, not rounds. 1 = one session
    # (the interval then describes this session only). 4: t(3) = 3.18 keeps the interval usable.
    subsessions: int = 4

    def to_dict(self):
        return asdict(self)

    def key_dict(self) -> dict:
        """The settings as they enter a run key: a field added after records were keyed is left out while it
        has the value that reproduces the behaviour from before it existed, so adding a field does not make
        every stored run look new to a resumed suite."""
        return {k: v for k, v in asdict(self).items() if LATER_FIELDS_PRIOR_BEHAVIOUR.get(k, _ABSENT) != v}


_ABSENT = object()
# Fields added to LatencySettings after records were first keyed, with the value that behaves as before they
# were added (one runtime session per run). Add a field here when adding it to the dataclass.
LATER_FIELDS_PRIOR_BEHAVIOUR = {"subsessions": 1}


QUICK = LatencySettings(warmup=5, min_queries=20, min_seconds=0.05, rounds=2, offline_min_batches=3,
                        offline_min_seconds=0.05, adaptive=False, subsessions=1)


def is_quick(latency_settings: dict | None) -> bool:
    """Whether a record's latency_settings are the --quick ones (records older than the adaptive fields
    carry only the fields they had: those are compared)."""
    if not latency_settings or "min_queries" not in latency_settings:
        return False
    return all(latency_settings[k] == v for k, v in QUICK.to_dict().items() if k in latency_settings)


# Two-sided 95% Student t quantiles, df = 1..30 (beyond: the normal quantile, within 0.5% of t from df 30 on)
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(df: int) -> float:
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df  # 1.96 + 2.4/df: 2.02 at 40, 1.98 at 120


def speedup_interval(estimate: float, round_ratios: list[float]) -> dict:
    """95% interval of a speedup from its per-round ratios: exp(log(estimate) +- t(n-1) * sd(log r) / sqrt(n)).
    half_width is relative (0.03 = +-3%); None where fewer than 2 rounds leave no spread to estimate."""
    n = len(round_ratios)
    if n < 2 or estimate <= 0 or min(round_ratios) <= 0:
        return {"estimate": estimate, "ci95": None, "half_width": None, "rounds": n}
    logs = np.log(np.asarray(round_ratios, dtype=float))
    h = t975(n - 1) * float(logs.std(ddof=1)) / math.sqrt(n)
    return {"estimate": estimate, "ci95": [estimate * math.exp(-h), estimate * math.exp(h)],
            "half_width": math.expm1(h), "rounds": n}


def subsession_interval(estimate: float, subsession_ratios: list[float], round_ratios: list[float]) -> dict:
    """The wider of the per-round interval and the interval over per-sub-session ratios (each a fresh pair of
    runtime sessions): the latter carries the between-session spread, the former guards against a sub-session
    spread that happens to come out small with few sub-sessions."""
    rounds = speedup_interval(estimate, round_ratios)
    sessions = speedup_interval(estimate, subsession_ratios)
    wider = max((rounds, sessions), key=lambda i: -1.0 if i["half_width"] is None else i["half_width"])
    return {**wider, "rounds": len(round_ratios), "subsessions": len(subsession_ratios)}


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


def _median(samples: list[float]) -> float:
    return float(np.median(samples))


def _mean(samples: list[float]) -> float:
    return float(np.mean(samples))


def _round(fns, inputs, order, calls: int, seconds: float, round_stat, samples: dict, per_round: dict) -> None:
    for name in order:
        s = time_calls(fns[name], inputs[name], calls, seconds)
        samples[name].extend(s)
        per_round[name].append(round_stat(s))


def _warm(fns, inputs, warmup: int) -> None:
    for name in fns:
        for x in inputs[name][:max(1, warmup)]:
            fns[name](x)


def _interleaved(fns: dict[str, Callable], inputs: dict[str, list[np.ndarray]], settings: LatencySettings,
                 min_calls: int, min_seconds: float, warmup: int,
                 round_stat: Callable[[list[float]], float] = _median,
                 reload: dict[str, Callable[[], Callable]] | None = None) -> tuple[dict[str, list[float]], dict]:
    """Samples per runner, and the timing's facts: rounds, what stopped it, per-round speedups (fp32 time /
    method time by `round_stat`), elapsed time and the machine's load around it. With `reload` (name -> a
    function making a fresh runner) and settings.subsessions > 1, the rounds are spread over sub-sessions."""
    names = list(fns)
    paired = BASELINE in fns and CANDIDATE in fns
    if paired and reload and settings.subsessions > 1 and set(names) <= set(reload):
        return _in_subsessions(fns, reload, inputs, settings, min_calls, min_seconds, warmup, round_stat)
    _warm(fns, inputs, warmup)
    samples = {name: [] for name in names}
    per_round = {name: [] for name in names}
    rounds = max(1, settings.rounds)
    per_round_calls = max(1, -(-min_calls // rounds))
    per_round_seconds = min_seconds / rounds
    adaptive = settings.adaptive and paired and rounds >= 2
    before = machine_load.snapshot()
    start = time.perf_counter()
    r, minimum_s, stopped_by, half_width = 0, None, "rounds", None
    while True:
        order = names if r % 2 == 0 else names[::-1]  # ABBA: neither runner always goes first
        _round(fns, inputs, order, per_round_calls, per_round_seconds, round_stat, samples, per_round)
        r += 1
        if r < rounds:
            continue
        if not adaptive:
            break
        if r % 2:  # stop only after whole ABBA pairs
            continue
        elapsed = time.perf_counter() - start
        minimum_s = minimum_s or elapsed
        ratios = [f / m for f, m in zip(per_round[BASELINE], per_round[CANDIDATE])]
        half_width = speedup_interval(1.0, ratios)["half_width"]
        if half_width is not None and half_width <= settings.target_half_width:
            stopped_by = "target"
            break
        cap = max(settings.max_seconds, settings.max_factor * minimum_s)
        if elapsed + 2 * elapsed / r > cap:  # the next pair would end past the cap
            stopped_by = "time_cap"
            break
    after = machine_load.snapshot()
    info = {"rounds": r, "stopped_by": stopped_by,
            "elapsed_s": round(time.perf_counter() - start, 3), "load": machine_load.between(before, after)}
    if paired:
        info["round_ratios"] = [round(f / m, 5) for f, m in zip(per_round[BASELINE], per_round[CANDIDATE])]
    return samples, info


def _in_subsessions(fns, reload, inputs, settings: LatencySettings, min_calls: int, min_seconds: float,
                    warmup: int, round_stat) -> tuple[dict[str, list[float]], dict]:
    """Rounds in sub-sessions: each a fresh pair of runners (the first uses `fns`), warmed up, then one ABBA pair
    of rounds. At least max(subsessions, rounds / 2) sub-sessions, whose rounds together take the minimum
    queries and seconds; adaptive stopping adds
    whole sub-sessions until the interval (subsession_interval) is within the target or the time cap."""
    names = list(fns)
    minimum = max(settings.subsessions, -(-max(2, settings.rounds) // 2))
    # min_calls / min_seconds keep their meaning (the minimum per runner, now over all the sub-sessions' rounds)
    rounds = 2 * minimum
    per_round_calls = max(1, -(-min_calls // rounds))
    per_round_seconds = min_seconds / rounds
    samples = {name: [] for name in names}
    per_round = {name: [] for name in names}
    sub_ratios: list[float] = []
    before = machine_load.snapshot()
    start = time.perf_counter()
    k, minimum_s, stopped_by = 0, None, "rounds"
    current = fns
    while True:
        if k:
            current = None  # release the previous sub-session's runtime sessions before making new ones
            current = {name: reload[name]() for name in names}
        _warm(current, inputs, warmup)
        first = len(per_round[BASELINE])
        order = names if k % 2 == 0 else names[::-1]
        for order_ in (order, order[::-1]):  # one ABBA pair
            _round(current, inputs, order_, per_round_calls, per_round_seconds, round_stat, samples, per_round)
        logs = [math.log(f / m) for f, m in zip(per_round[BASELINE][first:], per_round[CANDIDATE][first:])]
        sub_ratios.append(math.exp(sum(logs) / len(logs)))
        k += 1
        if k < minimum:
            continue
        if not settings.adaptive:
            break
        elapsed = time.perf_counter() - start
        minimum_s = minimum_s or elapsed
        ratios = [f / m for f, m in zip(per_round[BASELINE], per_round[CANDIDATE])]
        half_width = subsession_interval(1.0, sub_ratios, ratios)["half_width"]
        if half_width is not None and half_width <= settings.target_half_width:
            stopped_by = "target"
            break
        cap = max(settings.max_seconds, settings.max_factor * minimum_s)
        if elapsed + elapsed / k > cap:  # the next sub-session would end past the cap
            stopped_by = "time_cap"
            break
    after = machine_load.snapshot()
    info = {"rounds": len(per_round[BASELINE]), "stopped_by": stopped_by,
            "elapsed_s": round(time.perf_counter() - start, 3), "load": machine_load.between(before, after),
            "round_ratios": [round(f / m, 5) for f, m in zip(per_round[BASELINE], per_round[CANDIDATE])],
            "subsessions": k, "subsession_ratios": [round(r, 5) for r in sub_ratios]}
    return samples, info


def _interval(estimate: float, info: dict) -> dict:
    if "subsession_ratios" in info:
        return subsession_interval(estimate, info["subsession_ratios"], info["round_ratios"])
    return speedup_interval(estimate, info["round_ratios"])


def measure_single_stream(fns: dict[str, Callable], xs: dict[str, np.ndarray], settings: LatencySettings,
                          n_distinct: int = 64, reload: dict[str, Callable[[], Callable]] | None = None
                          ) -> dict[str, dict]:
    """fns: name -> predict; xs: name -> test inputs in that runner's feed layout (the same samples);
    reload: name -> a function returning a fresh runner's predict (for sub-sessions). Returns name -> latency
    summary, and "timing"."""
    inputs = {name: [np.ascontiguousarray(x[i:i + 1]) for i in range(min(n_distinct, len(x)))]
              for name, x in xs.items()}
    samples, info = _interleaved(fns, inputs, settings, settings.min_queries, settings.min_seconds,
                                 settings.warmup, _median, reload)
    out = {name: summarize(s) for name, s in samples.items()}
    if "round_ratios" in info:
        info["speedup"] = _interval(out[BASELINE]["p50_ms"] / out[CANDIDATE]["p50_ms"], info)
    out["timing"] = info
    return out


def measure_offline(fns: dict[str, Callable], xs: dict[str, np.ndarray], settings: LatencySettings,
                    reload: dict[str, Callable[[], Callable]] | None = None) -> dict[str, dict]:
    b = settings.offline_batch
    inputs = {name: [np.ascontiguousarray(x[i * b:(i + 1) * b]) for i in range(max(1, min(8, len(x) // b)))]
              for name, x in xs.items()}
    samples, info = _interleaved(fns, inputs, settings, settings.offline_min_batches, settings.offline_min_seconds,
                                 2, _mean, reload)
    out = {}
    for name, s in samples.items():
        arr = np.asarray(s)
        out[name] = {"batch": b, "samples_per_s": float(b * arr.size / arr.sum()),
                     "p50_batch_ms": float(np.percentile(arr, 50) * 1e3), "n_batches": int(arr.size)}
    if "round_ratios" in info:
        info["speedup"] = _interval(out[CANDIDATE]["samples_per_s"] / out[BASELINE]["samples_per_s"], info)
    out["timing"] = info
    return out


def speed_fields(single: dict, offline: dict, notes: list[str] | None = None) -> dict:
    """The record's interval and timing fields from measure_single_stream / measure_offline's results:
    speedup_single_stream_ci, speedup_offline_ci ([low, high] or None for the fp32 baseline itself) and
    `timing` (rounds, what stopped them, per-round ratios, load). Appends a note to `notes` when the
    timing ran under load above machine_load.HIGH_LOAD_SHARE."""
    timing: dict = {"ci_method": CI_METHOD}
    cis = {}
    shares = []
    for key, part in (("single_stream", single), ("offline", offline)):
        info = dict(part.get("timing") or {})
        interval = info.pop("speedup", None)
        cis[key] = interval["ci95"] if interval else None
        if interval:
            info["half_width"] = interval["half_width"]
        timing[key] = info
        share = machine_load.interference(info.get("load"))
        if share is not None:
            shares.append(share)
    worst = max(shares) if shares else None
    high = worst is not None and worst > machine_load.HIGH_LOAD_SHARE
    timing["load"] = {"max_interference": worst, "threshold": machine_load.HIGH_LOAD_SHARE, "high": high}
    if high and notes is not None:
        notes.append(f"timed under load: other processes (or the hypervisor) took {worst:.0%} of the CPUs during "
                     f"the timing (threshold {machine_load.HIGH_LOAD_SHARE:.0%}); speedups may be distorted")
    return {"speedup_single_stream_ci": cis["single_stream"], "speedup_offline_ci": cis["offline"],
            "timing": timing}
