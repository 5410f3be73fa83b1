"""A record's measured sections as types (issue 18): `results` and, inside it, the latency, throughput, size
and memory objects. The harness builds them, the board and the README table read them; the JSON they
serialise to is the record's (record-v1.schema.json stays the validator: these types do not validate, they
name the fields once).

    res = Results.from_dict(record["results"])     # None-safe reading, no `.get(...) or {}` chains
    res.size.artifact_bytes, res.latency_single_stream.p50_ms, res.relative_accuracy, res.timed_under_high_load
    Results(...).to_dict()                         # the record's `results` object

Round trip: `X.from_dict(d).to_dict() == d` for every published record: a section read from JSON remembers
which keys it was given (a key given as null stays null, an absent key stays absent) and keeps keys it does
not know. A section built in code writes its `ALWAYS` keys (even when None) and every other field that is set.
Pure Python, no imports beyond the standard library: any layer may use it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


_NAMES: dict[type, tuple[tuple[str, ...], frozenset]] = {}  # per section class: its field names, in order and as a set


@dataclass(frozen=True, kw_only=True)
class _Section:
    ALWAYS: ClassVar[tuple[str, ...]] = ()        # keys written even when None (by sections built in code)
    NESTED: ClassVar[dict[str, type]] = {}        # key -> section type of a nested object

    extra: dict = field(default_factory=dict, repr=False, compare=False)   # keys this type does not name
    _given: frozenset | None = field(default=None, repr=False, compare=False)  # keys present when read

    @classmethod
    def _name_lists(cls) -> tuple[tuple[str, ...], frozenset]:
        # cached per class: the board's index reads every record's sections (dataclasses.fields() per call was
        # a tenth of a cold 20k-record index build)
        found = _NAMES.get(cls)
        if found is None:
            names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "_given"))
            found = _NAMES[cls] = (names, frozenset(names))
        return found

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return cls._name_lists()[0]

    @classmethod
    def from_dict(cls, data):
        """The section of a record's object; None for a null or missing one (non-objects also read as None)."""
        if not isinstance(data, dict):
            return None
        names = cls._name_lists()[1]
        nested_types = cls.NESTED
        values, extra = {}, {}
        for key, value in data.items():  # one pass (the board's index reads 7 sections of each of 20k records)
            if key not in names:
                extra[key] = value
            elif value is not None and key in nested_types:
                values[key] = nested_types[key].from_dict(value)
            else:
                values[key] = value
        return cls(**values, extra=extra, _given=frozenset(data))

    def to_dict(self) -> dict:
        out = {}
        for name in self._names():
            value = getattr(self, name)
            if self._given is not None:
                if name not in self._given:
                    continue
            elif value is None and name not in self.ALWAYS:
                continue
            out[name] = value.to_dict() if isinstance(value, _Section) else value
        out.update(self.extra)
        return out


@dataclass(frozen=True, kw_only=True)
class Latency(_Section):
    """Single-stream latency (batch 1) of one model: percentiles over the timed queries after warm-up."""
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    n_queries: int | None = None
    total_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Throughput(_Section):
    """Offline throughput (one large batch, `batch` samples per call)."""
    batch: int | None = None
    samples_per_s: float | None = None
    p50_batch_ms: float | None = None
    n_batches: int | None = None


@dataclass(frozen=True, kw_only=True)
class Size(_Section):
    """The exported artifact's size and parameter counts, and the ratios against the fp32 artifact."""
    ALWAYS: ClassVar[tuple[str, ...]] = ("artifact_bytes", "gzip_bytes", "params", "nonzero_params")
    artifact_bytes: int | None = None
    gzip_bytes: int | None = None
    params: int | None = None
    nonzero_params: int | None = None
    params_by_bits: dict | None = None          # counted by the harness (submitted methods)
    counted_by: str | None = None
    baseline_artifact_bytes: int | None = None
    compression_ratio: float | None = None
    gzip_compression_ratio: float | None = None

    @property
    def kb(self) -> float | None:
        return None if self.artifact_bytes is None else self.artifact_bytes / 1024

    @property
    def gzip_kb(self) -> float | None:
        return None if self.gzip_bytes is None else self.gzip_bytes / 1024


@dataclass(frozen=True, kw_only=True)
class Memory(_Section):
    """Peak resident memory of a fresh interpreter running the artifact at `probe_batch`; `net_*` is above
    the empty interpreter's."""
    peak_rss_bytes: int | None = None
    net_peak_rss_bytes: int | None = None
    empty_interpreter_rss_bytes: int | None = None
    probe_batch: int | None = None

    @property
    def net_peak_mb(self) -> float | None:
        return None if self.net_peak_rss_bytes is None else self.net_peak_rss_bytes / 2**20


@dataclass(frozen=True, kw_only=True)
class Results(_Section):
    """A successful run's `results`. Accuracy is None on speed-only tracks (with accuracy_null_reason)."""
    ALWAYS: ClassVar[tuple[str, ...]] = (
        "accuracy", "accuracy_fp32", "accuracy_delta_pp", "latency_single_stream", "baseline_latency_single_stream",
        "speedup_single_stream", "throughput_offline", "baseline_throughput_offline", "speedup_offline",
        "speedup_single_stream_ci", "speedup_offline_ci", "memory", "size")
    NESTED: ClassVar[dict[str, type]] = {
        "latency_single_stream": Latency, "baseline_latency_single_stream": Latency,
        "throughput_offline": Throughput, "baseline_throughput_offline": Throughput,
        "size": Size, "memory": Memory}

    accuracy: float | None = None
    accuracy_fp32: float | None = None
    accuracy_delta_pp: float | None = None
    accuracy_null_reason: str | None = None
    test_samples: int | None = None
    prediction_agreement_fp32: float | None = None
    latency_single_stream: Latency | None = None
    baseline_latency_single_stream: Latency | None = None
    speedup_single_stream: float | None = None
    throughput_offline: Throughput | None = None
    baseline_throughput_offline: Throughput | None = None
    speedup_offline: float | None = None
    speedup_single_stream_ci: list | None = None   # [low, high], 95%; None for the fp32 baseline / older records
    speedup_offline_ci: list | None = None
    timing: dict | None = None                      # rounds, what stopped them, load (suite.measure.latency)
    memory: Memory | None = None
    size: Size | None = None
    method_info: dict | None = None
    claimed: dict | None = None                     # what a submitted method claimed (checked against `size`)
    notes: list | None = None

    @property
    def relative_accuracy(self) -> float | None:
        """accuracy / fp32 accuracy of the same session (what the accuracy gate of suite/rules.py judges)."""
        if self.accuracy is None or not self.accuracy_fp32:
            return None
        return self.accuracy / self.accuracy_fp32

    @property
    def load(self) -> dict:
        """The load around the timing (`timing.load`: max_interference, threshold, high); {} before issue 16."""
        load = (self.timing or {}).get("load") if isinstance(self.timing, dict) else None
        return load if isinstance(load, dict) else {}

    @property
    def timed_under_high_load(self) -> bool:
        return self.load.get("high") is True


def read_results(record: dict) -> Results:
    """A record's results (an empty Results for a failed record without any)."""
    return Results.from_dict(record.get("results")) or Results()

