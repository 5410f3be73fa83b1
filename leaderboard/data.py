"""Load validated records from one or more stores and flatten them into a pandas table.

Pure data code (no Streamlit): the app, the tests and `slimbench publish` share it. A record that is
unreadable or fails the schema is reported as a `Problem` naming its file and never raises."""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import RecordError
from suite.records.store import RecordStore

STORES_ENV = "SLIMBENCH_LEADERBOARD_STORES"        # local stores, os.pathsep-separated (default ./results)
PUBLISHED_ENV = "SLIMBENCH_LEADERBOARD_PUBLISHED"  # published results dir ("" = none; default leaderboard/results)

# One colour per family, everywhere (board badges, Pareto points, compare view).
FAMILY_COLORS = {
    "baseline": "#7f7f7f",
    "quantization": "#1f77b4",
    "pruning": "#2ca02c",
    "distillation": "#ff7f0e",
    "combined": "#9467bd",
}
OTHER_COLOR = "#8c564b"
DEFAULT_MIN_RELATIVE_ACCURACY = 0.99  # MLPerf closed division: >= 99% of the fp32 reference

_PASS_WORDS = {"pass", "passed", "ok", "reproduced", "success", "succeeded", "true"}
_FAIL_WORDS = {"fail", "failed", "not reproduced", "mismatch", "error", "false"}


@dataclass(frozen=True)
class Source:
    label: str  # "published" or "local"
    root: Path


@dataclass
class Problem:
    path: Path
    message: str


@dataclass
class Loaded:
    records: list[dict] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # record id -> source label
    paths: dict[str, Path] = field(default_factory=dict)   # record id -> file
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)   # source root -> valid records read


def resolve_sources(stores: list[str | Path] | None = None, published: str | Path | None = None,
                    no_published: bool = False) -> list[Source]:
    """Published dir first, then local stores. Arguments win over the environment, which wins over defaults."""
    from suite.paths import PUBLISHED_RESULTS, default_store

    if no_published:
        published_root = None
    elif published is not None:
        published_root = Path(published)
    elif PUBLISHED_ENV in os.environ:
        published_root = Path(os.environ[PUBLISHED_ENV]) if os.environ[PUBLISHED_ENV].strip() else None
    else:
        published_root = PUBLISHED_RESULTS
    if stores:
        local = [Path(s) for s in stores]
    elif os.environ.get(STORES_ENV, "").strip():
        local = [Path(s) for s in os.environ[STORES_ENV].split(os.pathsep) if s.strip()]
    else:
        local = [default_store()]
    sources = [Source("published", published_root)] if published_root is not None else []
    seen = {published_root.resolve()} if published_root is not None else set()
    for root in local:
        if root.resolve() not in seen:
            seen.add(root.resolve())
            sources.append(Source("local", root))
    return sources


def store_signature(sources: list[Source]) -> tuple:
    """Changes whenever a record file is added, removed or rewritten (the app's cache key)."""
    sig = []
    for source in sources:
        for path in RecordStore(source.root).paths():
            try:
                stat = path.stat()
            except OSError:
                continue
            sig.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(sig)


def load(sources: list[Source]) -> Loaded:
    """Every valid record once (by id; the first source wins), and one Problem per bad file."""
    out = Loaded()
    for source in sources:
        n = 0
        try:
            items = list(RecordStore(source.root).iter_records(skip_invalid=True))
        except OSError as exc:
            out.problems.append(Problem(source.root, f"cannot read store: {exc}"))
            continue
        for path, item in items:
            if isinstance(item, RecordError):
                out.problems.append(Problem(path, str(item)))
                continue
            n += 1
            if item["id"] in out.sources:
                continue
            out.records.append(item)
            out.sources[item["id"]] = source.label
            out.paths[item["id"]] = path
        out.counts[str(source.root)] = n
    return out


# -- record -> row --------------------------------------------------------------------------------
def method_label(spec: str) -> str:
    """Short display name: a submitted file `dir/x.py:Class` shows as `x.py:Class`; chains stage by stage."""
    return "+".join(Path(p.rpartition(":")[0]).name + ":" + p.rpartition(":")[2] if ".py:" in p else p
                    for p in spec.split("+"))


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


def verdict_passed(verdict) -> bool | None:
    """True / False when a verdict says so, None when there is none or it is unreadable."""
    if isinstance(verdict, bool):
        return verdict
    if isinstance(verdict, str):
        word = verdict.strip().lower()
        return True if word in _PASS_WORDS else False if word in _FAIL_WORDS else None
    if not isinstance(verdict, dict):
        return None
    for key in ("passed", "pass", "ok", "reproduced", "within_tolerance", "success"):
        if isinstance(verdict.get(key), bool):
            return verdict[key]
    for key in ("status", "result", "outcome", "verdict"):
        if isinstance(verdict.get(key), (str, bool)):
            answer = verdict_passed(verdict[key])
            if answer is not None:
                return answer
    return None


def is_reproduction(record: dict) -> bool:
    """A record that confirms its configuration: a successful reproduction run whose verdict (if any) did
    not fail, or any record whose verdict passed."""
    passed = verdict_passed(record.get("verdict"))
    if record.get("kind") == "reproduction":
        return record.get("status") == "ok" and passed is not False
    return passed is True


def _get(d, *keys):
    for key in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def record_row(record: dict) -> dict:
    cfg, res = record["config"], record.get("results") or {}
    err = record.get("error") or {}
    size = res.get("size") or {}
    acc, acc_fp32 = res.get("accuracy"), res.get("accuracy_fp32")
    lat = res.get("latency_single_stream") or {}
    thr = res.get("throughput_offline") or {}
    peak = _get(res, "memory", "net_peak_rss_bytes")
    prov = record.get("provenance") or {}
    runtime = prov.get("runtime") or {}
    return {
        "id": record["id"], "kind": record.get("kind", "run"), "status": record.get("status"),
        "track": cfg["track"], "target": cfg["target"], "method": method_label(cfg["method"]),
        "method_spec": cfg["method"], "family": cfg.get("method_family") or "unknown",
        "framework": cfg.get("method_framework") or "unknown",
        "params": params_key(cfg.get("method_params")), "params_text": params_text(cfg.get("method_params")),
        "seed": cfg.get("seed"),
        "accuracy_pct": None if acc is None else acc * 100,
        "accuracy_fp32_pct": None if acc_fp32 is None else acc_fp32 * 100,
        "delta_pp": res.get("accuracy_delta_pp"),
        "relative_accuracy": (acc / acc_fp32) if acc is not None and acc_fp32 else None,
        "p50_ms": lat.get("p50_ms"), "p99_ms": lat.get("p99_ms"),
        "speedup": res.get("speedup_single_stream"),
        "throughput": thr.get("samples_per_s"), "throughput_batch": thr.get("batch"),
        "throughput_speedup": res.get("speedup_offline"),
        "size_kb": None if size.get("artifact_bytes") is None else size["artifact_bytes"] / 1024,
        "gzip_kb": None if size.get("gzip_bytes") is None else size["gzip_bytes"] / 1024,
        "compression_ratio": size.get("compression_ratio"),
        "gzip_compression_ratio": size.get("gzip_compression_ratio"),
        "params_count": size.get("params"), "nonzero_params": size.get("nonzero_params"),
        "peak_mem_mb": None if peak is None else peak / 2**20,
        "hardware": hardware_label(record), "cpu": str(_get(prov, "cpu", "model") or ""),
        "gpu": str(_get(prov, "gpu", "model") or ""),
        "runtime": " ".join(str(v) for v in (runtime.get("runtime"), runtime.get("version")) if v),
        "date": record.get("created_utc", ""), "command": cfg.get("command", ""),
        "error_type": err.get("type"), "error_phase": err.get("phase"), "error_message": err.get("message"),
        "commit": str(_get(prov, "code", "commit") or "")[:10],
        "reference_sha256": str(prov.get("checkpoint_sha256") or ""),
        "reference_current": reference_is_current(cfg["track"], prov.get("checkpoint_sha256")),
    }


@functools.lru_cache(maxsize=None)
def current_reference_sha256(track: str) -> str | None:
    """The sha256 of the track's committed reference checkpoint, or None (unknown track, no checkpoint)."""
    from suite.errors import SlimBenchError
    from suite.tracks import get_track

    try:
        return get_track(track).checkpoint_sha256
    except (SlimBenchError, KeyError):  # unknown track or no metadata yet: nothing to compare against
        return None


def reference_is_current(track: str, sha256: str | None) -> bool | None:
    """False when the record was measured against another reference checkpoint than the committed one (the
    reference was retrained since): its accuracy and speed ratios belong to a model that is no longer the
    track's. None when it cannot be told."""
    current = current_reference_sha256(track) if track else None
    if current is None or not sha256:
        return None
    return sha256 == current


def is_failed_reproduction(record: dict) -> bool:
    return record.get("kind") == "reproduction" and not is_reproduction(record)


def frame(loaded: Loaded):
    """One row per record, plus `source`, `reproductions` / `failed_reproductions` (records that confirm /
    contradict it: same track, method, target and params, or naming it in `verdict.of`) and `reproduced`."""
    import pandas as pd

    rows = [record_row(r) for r in loaded.records]
    passed: dict = {}
    failed: dict = {}
    for record in loaded.records:
        tally = passed if is_reproduction(record) else failed if is_failed_reproduction(record) else None
        if tally is None:
            continue
        keys = {config_key(record)}
        of = (record.get("verdict") or {}).get("of") if isinstance(record.get("verdict"), dict) else None
        if of:
            keys.add(("id", of))
        for key in keys:
            tally.setdefault(key, set()).add(record["id"])
    for row, record in zip(rows, loaded.records):
        keys = (config_key(record), ("id", record["id"]))
        row["source"] = loaded.sources.get(record["id"], "")
        row["reproductions"] = len(set().union(*(passed.get(k, set()) for k in keys)))
        row["failed_reproductions"] = len(set().union(*(failed.get(k, set()) for k in keys)))
        row["reproduced"] = row["reproductions"] > 0
    if not rows:
        return pd.DataFrame(columns=[*record_row_columns(), "source", "reproductions", "failed_reproductions",
                                     "reproduced"])
    return pd.DataFrame(rows)


def record_row_columns() -> list[str]:
    stub = {"id": "0" * 16, "config": {"track": "", "method": "", "target": ""}}
    return list(record_row(stub))


@dataclass
class Filters:
    tracks: list[str] | None = None      # None = all
    targets: list[str] | None = None
    families: list[str] | None = None
    frameworks: list[str] | None = None
    hardware: list[str] | None = None
    min_relative_accuracy: float = DEFAULT_MIN_RELATIVE_ACCURACY
    latest_only: bool = True
    current_reference_only: bool = True  # hide records measured against a since-retrained reference


def board_rows(df, filters: Filters):
    """Ranked rows: successful `run` records passing every filter (reproductions only confer badges).
    Returns (rows, hidden_below_accuracy_count)."""
    if df.empty:
        return df, 0
    rows = df[(df["status"] == "ok") & (df["kind"] != "reproduction")]
    for column, chosen in (("track", filters.tracks), ("target", filters.targets), ("family", filters.families),
                           ("framework", filters.frameworks), ("hardware", filters.hardware)):
        if chosen is not None:
            rows = rows[rows[column].isin(chosen)]
    if filters.current_reference_only and not rows.empty:
        rows = rows[rows["reference_current"].map(lambda v: v is not False)]
    if filters.latest_only and not rows.empty:
        rows = (rows.sort_values("date")
                .drop_duplicates(["track", "method_spec", "target", "params", "seed", "hardware"], keep="last"))
    passes = rows["relative_accuracy"].fillna(0) >= filters.min_relative_accuracy - 1e-12
    return rows[passes], int((~passes).sum())


def failed_rows(df, filters: Filters):
    if df.empty:
        return df
    rows = df[df["status"] == "failed"]
    for column, chosen in (("track", filters.tracks), ("target", filters.targets), ("family", filters.families),
                           ("framework", filters.frameworks), ("hardware", filters.hardware)):
        if chosen is not None:
            rows = rows[rows[column].isin(chosen)]
    return rows
