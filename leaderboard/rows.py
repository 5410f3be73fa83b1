"""One record -> one flat row (the leaderboard index's row layout). Pure functions, no Streamlit, no DuckDB.

Besides the numbers, a row carries what the board derives from the record: the **precision** (W8A8,
W8A32, FP16, FP32 … from the `weight_bits` / `activation_bits` a method reports in
`results.method_info`) and the **sparsity kind** (structured / unstructured / none, from the pruning
description a method reports, else from the zero weights the size probe counted)."""
from __future__ import annotations

import json

from suite.records.provenance import record_isa_class
from suite.records.sections import Latency, Size, Throughput, read_results

# A model counts as (unstructured) sparse when at least this fraction of its parameters is zero.
SPARSE_ZERO_FRACTION = 0.2

# (column, DuckDB type, python kind)
COLUMNS: list[tuple[str, str, str]] = [
    ("id", "VARCHAR", "str"), ("kind", "VARCHAR", "str"), ("status", "VARCHAR", "str"),
    ("track", "VARCHAR", "str"), ("target", "VARCHAR", "str"), ("method", "VARCHAR", "str"),
    ("method_spec", "VARCHAR", "str"), ("family", "VARCHAR", "str"), ("framework", "VARCHAR", "str"),
    ("params", "VARCHAR", "str"), ("params_text", "VARCHAR", "str"), ("seed", "BIGINT", "int"),
    ("accuracy_pct", "DOUBLE", "float"), ("accuracy_fp32_pct", "DOUBLE", "float"), ("delta_pp", "DOUBLE", "float"),
    ("relative_accuracy", "DOUBLE", "float"), ("p50_ms", "DOUBLE", "float"), ("p99_ms", "DOUBLE", "float"),
    ("speedup", "DOUBLE", "float"), ("throughput", "DOUBLE", "float"), ("throughput_batch", "BIGINT", "int"),
    ("throughput_speedup", "DOUBLE", "float"), ("size_kb", "DOUBLE", "float"), ("gzip_kb", "DOUBLE", "float"),
    ("compression_ratio", "DOUBLE", "float"), ("gzip_compression_ratio", "DOUBLE", "float"),
    ("params_count", "BIGINT", "int"), ("nonzero_params", "BIGINT", "int"), ("peak_mem_mb", "DOUBLE", "float"),
    ("precision", "VARCHAR", "str"), ("sparsity_kind", "VARCHAR", "str"),
    ("hardware", "VARCHAR", "str"), ("cpu", "VARCHAR", "str"), ("gpu", "VARCHAR", "str"),
    ("runtime", "VARCHAR", "str"), ("date", "VARCHAR", "str"), ("command", "VARCHAR", "str"),
    ("submitter", "VARCHAR", "str"),
    ("error_type", "VARCHAR", "str"), ("error_phase", "VARCHAR", "str"), ("error_message", "VARCHAR", "str"),
    ("commit", "VARCHAR", "str"), ("reference_sha256", "VARCHAR", "str"),
    ("confirms", "BOOLEAN", "bool"), ("contradicts", "BOOLEAN", "bool"), ("verdict_of", "VARCHAR", "str"),
    ("verdict_passed", "BOOLEAN", "bool"),
    ("paper", "VARCHAR", "str"), ("paper_title", "VARCHAR", "str"), ("paper_rows", "VARCHAR", "str"),
    ("track_kind", "VARCHAR", "str"), ("accuracy_null_reason", "VARCHAR", "str"),
    # issue 16: the speedups' 95% intervals, the CPU's ISA class, the load around the timing, --repeat groups
    ("speedup_ci_low", "DOUBLE", "float"), ("speedup_ci_high", "DOUBLE", "float"),
    ("throughput_speedup_ci_low", "DOUBLE", "float"), ("throughput_speedup_ci_high", "DOUBLE", "float"),
    ("isa_class", "VARCHAR", "str"), ("high_load", "BOOLEAN", "bool"), ("load_share", "DOUBLE", "float"),
    ("repeat_group", "VARCHAR", "str"),
    # issue 19: why a run spent more than the track's budget (the record's top-level over_budget), else null
    ("over_budget", "VARCHAR", "str"),
]
COLUMN_NAMES = [name for name, _, _ in COLUMNS]


def coerce(row: dict) -> dict:
    """Values in their column's type (JSON Schema's integer admits 1.0; a number may be an int)."""
    for name, _, kind in COLUMNS:
        value = row.get(name)
        if value is None:
            continue
        if kind == "int" and isinstance(value, float) and value.is_integer():
            row[name] = int(value)
        elif kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            row[name] = float(value)
        elif kind == "str" and not isinstance(value, str):
            row[name] = str(value)
    return row


def arrow_fields():
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    return [(name, types[kind]) for name, _, kind in COLUMNS]


def method_label(spec: str) -> str:
    """Short display name: a submitted file `dir/x.py:Class` shows as `x.py:Class`; chains stage by stage
    (suite.methodspec parses the spec)."""
    from suite.methodspec import method_label as label
    return label(spec)


def params_key(params: dict | None) -> str:
    return json.dumps(params or {}, sort_keys=True, separators=(",", ":"), default=str)


def params_text(params: dict | None) -> str:
    """`k=v, ...` as the CLI's --param would take it (lists comma-joined)."""
    def text(value):
        return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return ", ".join(f"{k}={text(v)}" for k, v in sorted((params or {}).items()))


def config_key(record: dict) -> tuple[str, str, str, str]:
    cfg = record["config"]
    return cfg["track"], cfg["method"], cfg["target"], params_key(cfg.get("method_params"))


def hardware_label(record: dict) -> str:
    prov = record.get("provenance") or {}
    cpu = prov.get("cpu") or {}
    label = str(cpu.get("model") or "unknown CPU")
    if cpu.get("logical_cores"):
        label += f" ({cpu['logical_cores']} cores)"
    gpu = prov.get("gpu") or {}
    if gpu.get("model"):
        label += f" + {gpu['model']}"
    return label


def verdict_passed(record: dict) -> bool | None:
    """The `passed` of a record's verdict (the typed Verdict of suite/reproduce/verdict.py; older records'
    verdicts upgraded by suite/records/migrate.py), None when it has none."""
    from suite.reproduce.verdict import read_verdict

    verdict = read_verdict(record)
    return None if verdict is None else verdict.passed


def paper_rows(verdict) -> list[dict]:
    """A paper verdict's checks as the board's paper table rows (the paper's number beside ours)."""
    return [dict(sorted({"quantity": c.name, "expected": c.expected, "measured": c.measured, "unit": c.unit,
                         "tolerance": c.tolerance, "passed": c.passed, "status": c.status(),
                         "note": c.note}.items())) for c in verdict.checks]


def _confirms(record: dict, passed: bool | None) -> bool:
    if record.get("kind") == "reproduction":
        return record.get("status") == "ok" and passed is not False
    return passed is True


def is_reproduction(record: dict) -> bool:
    """A record that confirms its configuration: a successful reproduction run whose verdict (if any) did
    not fail, or any record whose verdict passed."""
    return _confirms(record, verdict_passed(record))


def _contradicts(record: dict, confirms: bool) -> bool:
    return record.get("kind") == "reproduction" and not confirms


def is_failed_reproduction(record: dict) -> bool:
    return _contradicts(record, is_reproduction(record))


def _get(d, *keys):
    for key in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _bits(info: dict) -> tuple[int | None, int | None]:
    """(weight bits, activation bits) a method reports; for a chain, the narrowest over its stages."""
    def num(value):
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    weight, activation = num(info.get("weight_bits")), num(info.get("activation_bits"))
    for value in info.values():  # chains nest each stage's method_info
        if isinstance(value, dict) and ("weight_bits" in value or "activation_bits" in value):
            w, a = _bits(value)
            weight = w if weight is None or (w is not None and w < weight) else weight
            activation = a if activation is None or (a is not None and a < activation) else activation
    return weight, activation


def precision(record: dict) -> str:
    """FP32 / FP16 / W8A8 / W8A32 … from the bits the method reports; a run without quantization that
    reports nothing ran in fp32 (the harness exports float32 models); '?' when a quantizing method is silent."""
    cfg, info = record["config"], _get(record, "results", "method_info") or {}
    weight, activation = _bits(info) if isinstance(info, dict) else (None, None)
    if weight is None and activation is None:
        quantizing = cfg.get("method_family") in ("quantization", "combined")
        return "?" if quantizing or record.get("status") != "ok" else "FP32"
    weight, activation = int(weight or 32), int(activation or 32)
    if weight == activation and weight in (32, 16):
        return f"FP{weight}"
    if weight == 16 and activation == 32:
        return "FP16"  # float16 weights, float32 compute (TFLite's fp16 weight-only conversion)
    return f"W{weight}A{activation}"


def sparsity_kind(record: dict) -> str:
    """structured / unstructured / none: what the pruning method says it did, else whether the size probe
    counted a notable share of zero weights (that is unstructured sparsity: nothing was removed)."""
    info = _get(record, "results", "method_info") or {}
    texts = []

    def collect(d):
        for key, value in d.items():
            if isinstance(value, str) and ("prun" in key or "sparsity" in key or "structure" in key):
                texts.append(value.lower())
            elif isinstance(value, dict) and key != "layers":
                collect(value)
    if isinstance(info, dict):
        collect(info)
    text = " ".join(texts)
    if "unstructured" in text or "magnitude" in text:
        return "unstructured"
    if "structured" in text or "channel" in text or "filter" in text:
        return "structured"
    size = Size.from_dict(_get(record, "results", "size")) or Size()  # only this section: cheaper than all results
    params, nonzero = size.params, size.nonzero_params
    if isinstance(params, int) and isinstance(nonzero, int) and params > 0 \
            and 1 - nonzero / params >= SPARSE_ZERO_FRACTION:
        return "unstructured"
    return "none"


def submitter_text(value) -> str:
    """The optional `submitter` field: a name, or an object with a name (and maybe a url/affiliation)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        name = str(value.get("name") or "")
        extra = value.get("affiliation")
        return f"{name} ({extra})" if name and extra else name
    return ""


SPEED_PREFIX = "speed-"


def track_kind(record: dict) -> str:
    """"speed" for a speed-only track (random weights: speed, memory and size, no accuracy; issue 14) —
    `config.track_kind`, or a track named `speed-…` in records that predate the field — else "accuracy"."""
    cfg = record.get("config") or {}
    kind = cfg.get("track_kind")
    if kind in ("speed", "accuracy"):
        return kind
    return "speed" if str(cfg.get("track", "")).startswith(SPEED_PREFIX) else "accuracy"


def _interval(ci) -> tuple[float | None, float | None]:
    """(low, high) of a recorded [low, high] interval; (None, None) when there is none (fp32 itself, older)."""
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(isinstance(v, (int, float)) for v in ci):
        return float(ci[0]), float(ci[1])
    return None, None


def record_row(record: dict) -> dict:
    cfg, res = record["config"], read_results(record)
    err = record.get("error") or {}
    size = res.size or Size()
    acc, acc_fp32 = res.accuracy, res.accuracy_fp32
    lat = res.latency_single_stream or Latency()
    thr = res.throughput_offline or Throughput()
    prov = record.get("provenance") or {}
    runtime = prov.get("runtime") or {}
    from suite.reproduce.verdict import PAPER, RECORD, read_verdict

    verdict = read_verdict(record)
    paper = verdict.paper if verdict is not None and verdict.kind == PAPER and verdict.paper else None
    of = verdict.of if verdict is not None and verdict.kind == RECORD and verdict.of else None
    single_ci, offline_ci = _interval(res.speedup_single_stream_ci), _interval(res.speedup_offline_ci)
    passed = None if verdict is None else verdict.passed  # the verdict is read once (the index reads 20k rows)
    confirms = _confirms(record, passed)
    return {
        "id": record["id"], "kind": record.get("kind", "run"), "status": record.get("status"),
        "track": cfg["track"], "target": cfg["target"], "method": method_label(cfg["method"]),
        "method_spec": cfg["method"], "family": cfg.get("method_family") or "unknown",
        "framework": cfg.get("method_framework") or "unknown",
        "params": params_key(cfg.get("method_params")), "params_text": params_text(cfg.get("method_params")),
        "seed": cfg.get("seed"),
        "accuracy_pct": None if acc is None else acc * 100,
        "accuracy_fp32_pct": None if acc_fp32 is None else acc_fp32 * 100,
        "delta_pp": res.accuracy_delta_pp,
        "relative_accuracy": res.relative_accuracy,
        "p50_ms": lat.p50_ms, "p99_ms": lat.p99_ms,
        "speedup": res.speedup_single_stream,
        "throughput": thr.samples_per_s, "throughput_batch": thr.batch,
        "throughput_speedup": res.speedup_offline,
        "size_kb": size.kb, "gzip_kb": size.gzip_kb,
        "compression_ratio": size.compression_ratio,
        "gzip_compression_ratio": size.gzip_compression_ratio,
        "params_count": size.params, "nonzero_params": size.nonzero_params,
        "peak_mem_mb": res.memory.net_peak_mb if res.memory else None,
        "precision": precision(record), "sparsity_kind": sparsity_kind(record),
        "hardware": hardware_label(record), "cpu": str(_get(prov, "cpu", "model") or ""),
        "gpu": str(_get(prov, "gpu", "model") or ""),
        "runtime": " ".join(str(v) for v in (runtime.get("runtime"), runtime.get("version")) if v),
        "date": record.get("created_utc", ""), "command": cfg.get("command", ""),
        "submitter": submitter_text(record.get("submitter")),
        "error_type": err.get("type"), "error_phase": err.get("phase"), "error_message": err.get("message"),
        "commit": str(_get(prov, "code", "commit") or "")[:10],
        "reference_sha256": str(prov.get("checkpoint_sha256") or ""),
        "confirms": confirms, "contradicts": _contradicts(record, confirms),
        "verdict_of": of, "verdict_passed": passed,
        "paper": paper,
        "paper_title": str(verdict.title or "") if paper else None,
        "paper_rows": json.dumps({"rows": paper_rows(verdict), "citation": verdict.citation or {},
                                  "notes": verdict.notes or []}, default=str) if paper else None,
        "track_kind": track_kind(record), "accuracy_null_reason": res.accuracy_null_reason,
        "speedup_ci_low": single_ci[0], "speedup_ci_high": single_ci[1],
        "throughput_speedup_ci_low": offline_ci[0], "throughput_speedup_ci_high": offline_ci[1],
        "isa_class": record_isa_class(record), "high_load": res.timed_under_high_load,
        "load_share": res.load.get("max_interference"),
        "repeat_group": str(_get(cfg, "repeat", "group") or ""),
        "over_budget": _get(record, "over_budget", "reason") or None,
    }
