"""The board's table: flat rows (from the DuckDB index, leaderboard/index.py, or from records in memory)
plus what is derived across rows (reproductions, current reference), the filters, and the export.

Pure data code (no Streamlit): the app, the tests and `slimbench publish` share it. A record that is
unreadable or fails the schema is reported as a `Problem` naming its file and never raises."""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from leaderboard.rows import (  # noqa: F401 (re-exported: the callers that predate leaderboard/rows.py)
    COLUMN_NAMES, COLUMNS, config_key, hardware_label, is_failed_reproduction, is_reproduction, method_label, params_key,
    params_text, record_row, verdict_passed)
from suite.errors import RecordError
from suite.records.store import RecordStore
from suite.rules import MIN_RELATIVE_ACCURACY, passes_accuracy_gate

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
DEFAULT_MIN_RELATIVE_ACCURACY = MIN_RELATIVE_ACCURACY  # suite/rules.py: >= 99% of the fp32 reference



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


@functools.lru_cache(maxsize=None)
def current_reference_sha256(track: str) -> str | None:
    """The sha256 of the track's committed reference checkpoint, or None (unknown track, no checkpoint)."""
    from suite.errors import SlimBenchError
    from suite.tracks import get_track

    try:
        found = get_track(track)
        if found.kind == "speed":  # random weights, no checkpoint: nothing is ever retrained (and building
            return None            # BERT-base to hash it has no place in the board)
        return found.checkpoint_sha256
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


def frame(loaded: Loaded):
    """One row per record, from records in memory (the index builds the same rows) — see frame_from_rows."""
    import pandas as pd

    rows = []
    for record in loaded.records:
        row = record_row(record)
        path = loaded.paths.get(record["id"])
        rows.append({**row, "source": loaded.sources.get(record["id"], ""), "file": path.name if path else ""})
    return frame_from_rows(pd.DataFrame(rows, columns=[*COLUMN_NAMES, "source", "file"]))


def frame_from_rows(df):
    """The board's frame from flat rows: adds `reference_current`, `reproductions` / `failed_reproductions`
    (records that confirm / contradict a row: same track, method, target and params, or naming it in
    `verdict.of`), `reproduced` and `params_shown` (only the parameters that differ from the method's
    defaults). Vectorised: 20k rows take milliseconds."""
    import pandas as pd

    df = df.copy()
    for column in COLUMN_NAMES:
        if column not in df.columns:
            df[column] = None
    if df.empty:
        for column in ("reference_current", "reproductions", "failed_reproductions", "reproduced", "params_shown",
                       "speedup_ci", "throughput_speedup_ci", "repeat_n", "repeat_median", "repeat_min", "repeat_max",
                       "repeats"):
            df[column] = pd.Series(dtype=object)
        return df
    for column in ("confirms", "contradicts"):
        df[column] = df[column].fillna(False).astype(bool)
    for column, _, kind in COLUMNS:  # missing text is "" (never NaN, which is truthy)
        if kind == "str":
            df[column] = df[column].fillna("").astype("str")
    current = {track: current_reference_sha256(track) for track in df["track"].dropna().unique()}
    df["reference_current"] = [None if not current.get(t) or not sha else sha == current[t]
                               for t, sha in zip(df["track"], df["reference_sha256"])]
    key = ["track", "method_spec", "target", "params"]
    for flag, column in (("confirms", "reproductions"), ("contradicts", "failed_reproductions")):
        tally = df[df[flag]]
        with_of = tally[tally["verdict_of"] != ""]
        by_config = tally.groupby(key).size().rename("_n_config")
        both = with_of.groupby([*key, "verdict_of"]).size().rename("_n_both")
        merged = df[[*key, "id"]].join(by_config, on=key)
        if len(both):
            merged = merged.join(both, on=[*key, "id"])
        else:
            merged["_n_both"] = 0
        by_of = df["id"].map(with_of.groupby("verdict_of").size()).fillna(0)
        df[column] = (merged["_n_config"].fillna(0) + by_of - merged["_n_both"].fillna(0)).astype(int).values
    df["reproduced"] = df["reproductions"] > 0
    df["speedup_ci"] = [interval_text(lo, hi) for lo, hi in zip(df["speedup_ci_low"], df["speedup_ci_high"])]
    df["throughput_speedup_ci"] = [interval_text(lo, hi) for lo, hi in
                                   zip(df["throughput_speedup_ci_low"], df["throughput_speedup_ci_high"])]
    df["high_load"] = df["high_load"].fillna(False).astype(bool)
    _add_repeats(df)
    shown = {pair: shown_params(*pair) for pair in set(zip(df["method_spec"], df["params"]))}
    df["params_shown"] = [shown[pair] for pair in zip(df["method_spec"], df["params"])]
    return df


REPEAT_KEY = ["track", "method_spec", "target", "params", "seed", "hardware"]  # one configuration, one machine


def interval_text(low, high) -> str:
    """`[1.47, 1.58]` (a speedup's 95% interval), "" when there is none."""
    if low is None or high is None or low != low or high != high:
        return ""
    return f"[{low:.2f}, {high:.2f}]"


def _add_repeats(df) -> None:
    """Repeated records of one configuration on one machine (`slimbench run --repeat N`, or runs on different
    days): `repeat_n`, the median speedup and its spread (min, max) over the successful run records, and a
    `repeats` text such as `1.50× median of 5, 1.45–1.56` (empty for a configuration measured once)."""
    ok = (df["status"] == "ok") & (df["kind"] != "reproduction")
    stats = (df[ok].groupby(REPEAT_KEY, dropna=False)["speedup"].agg(["count", "median", "min", "max"])
             if ok.any() else None)
    if stats is None or stats.empty:
        df["repeat_n"], df["repeat_median"], df["repeat_min"], df["repeat_max"] = 0, None, None, None
        df["repeats"] = ""
        return
    merged = df[REPEAT_KEY].join(stats, on=REPEAT_KEY)
    counts = merged["count"].where(ok, 0).fillna(0).astype(int).values
    df["repeat_n"] = counts
    df["repeat_median"] = merged["median"].where(ok).values
    df["repeat_min"] = merged["min"].where(ok).values
    df["repeat_max"] = merged["max"].where(ok).values
    df["repeats"] = [f"{med:.2f}× median of {n}, {lo:.2f}–{hi:.2f}" if n > 1 and med == med else ""
                     for n, med, lo, hi in zip(counts, df["repeat_median"], df["repeat_min"], df["repeat_max"])]


@functools.lru_cache(maxsize=4096)
def shown_params(method_spec: str, params_json: str) -> str:
    """`k=v, ...` of the parameters that differ from the method's current defaults (as the README table)."""
    from leaderboard.readme_table import non_default_params

    try:
        params = json.loads(params_json or "{}")
    except ValueError:
        return params_json
    try:
        return params_text(non_default_params(method_spec, params))
    except Exception:  # noqa: BLE001 — a method whose defaults cannot be read here: show every parameter
        return params_text(params)


def reproductions_of(df, record_id: str):
    """Reproduction records that confirm or contradict entry `record_id` (same configuration, or naming it in
    verdict.of), newest first."""
    match = df[df["id"] == record_id]
    if match.empty:
        return df.iloc[0:0]
    row = match.iloc[0]
    same = ((df["track"] == row["track"]) & (df["method_spec"] == row["method_spec"])
            & (df["target"] == row["target"]) & (df["params"] == row["params"]))
    named = df["verdict_of"] == record_id
    hits = df[(same | named) & (df["confirms"] | df["contradicts"]) & (df["id"] != record_id)]
    return hits.sort_values("date", ascending=False)


@dataclass(frozen=True)
class FilterSpec:
    field: str              # the Filters attribute holding the chosen values (None = all)
    column: str             # the frame column it filters
    label: str              # the sidebar's label
    help: str | None = None


# The board's multi-select filters, in the sidebar's order: URL parameter -> spec. The one list the filter loop
# (_chosen), the sidebar and the URL read (a new filter is one line here and one Filters field).
MULTI_FILTERS: dict[str, FilterSpec] = {
    "track": FilterSpec("tracks", "track", "Track"),
    "target": FilterSpec("targets", "target", "Target"),
    "precision": FilterSpec("precisions", "precision", "Precision",
                            "weight / activation precision the method reports (W8A8: int8 weights and activations; "
                            "W8A32: int8 weights, float compute)"),
    "sparsity": FilterSpec("sparsity_kinds", "sparsity_kind", "Sparsity kind",
                           "structured: channels/neurons removed (dense kernels get faster); unstructured: "
                           "individual weights zeroed"),
    "family": FilterSpec("families", "family", "Family"),
    "framework": FilterSpec("frameworks", "framework", "Framework"),
    "hardware": FilterSpec("hardware", "hardware", "Hardware",
                           "provenance.cpu.model (+ GPU) of the machine that measured it"),
    "isa": FilterSpec("isa_classes", "isa_class", "ISA class",
                      "the CPU's instruction-set class (x86-avx2, x86-avx512-vnni, x86-amx, arm-dotprod, ...): int8 "
                      "and fp16 speedups depend on it, so ratios of different classes are ranked apart"),
}


@dataclass
class Filters:
    tracks: list[str] | None = None      # None = all
    targets: list[str] | None = None
    families: list[str] | None = None
    frameworks: list[str] | None = None
    hardware: list[str] | None = None
    precisions: list[str] | None = None
    sparsity_kinds: list[str] | None = None
    isa_classes: list[str] | None = None
    min_relative_accuracy: float = DEFAULT_MIN_RELATIVE_ACCURACY
    latest_only: bool = True
    current_reference_only: bool = True  # hide records measured against a since-retrained reference
    show_over_budget: bool = False  # entries that spent more than the track's budget are hidden unless asked for

    def choices(self):
        """(frame column, chosen values or None) of every multi-select filter."""
        return tuple((spec.column, getattr(self, spec.field)) for spec in MULTI_FILTERS.values())


def _chosen(rows, filters: Filters):
    for column, chosen in filters.choices():
        if chosen is not None:
            rows = rows[rows[column].isin(chosen)]
    return rows


def is_speed(df):
    """Rows of speed-only tracks (random weights, no accuracy: issue 14). They have their own page and are
    never ranked with (or filtered by the accuracy threshold of) the accuracy tracks."""
    if "track_kind" in df.columns:
        return df["track_kind"] == "speed"
    return df["track"].str.startswith("speed-")


def _entries(df, filters: Filters, speed: bool):
    """Successful `run` records of one track kind passing the choice filters, the reference filter and
    latest-per-configuration (reproductions only confer badges)."""
    rows = _chosen(df[(df["status"] == "ok") & (df["kind"] != "reproduction") & (is_speed(df) == speed)], filters)
    if filters.current_reference_only and not rows.empty:
        rows = rows[rows["reference_current"].map(lambda v: v is not False)]
    if not filters.show_over_budget and "over_budget" in rows.columns and not rows.empty:
        rows = rows[rows["over_budget"].fillna("") == ""]
    if filters.latest_only and not rows.empty:
        rows = (rows.sort_values("date", kind="stable")
                .drop_duplicates(["track", "method_spec", "target", "params", "seed", "hardware"], keep="last"))
    return rows


def board_rows(df, filters: Filters):
    """Ranked rows of the accuracy tracks: successful `run` records passing every filter. Speed-only tracks
    are not among them (speed_rows). Returns (rows, hidden_below_accuracy_count)."""
    if df.empty:
        return df, 0
    rows = _entries(df, filters, speed=False)
    passes = passes_accuracy_gate(rows["relative_accuracy"], filters.min_relative_accuracy)
    return rows[passes], int((~passes).sum())


def speed_rows(df, filters: Filters):
    """Entries of the speed-only tracks (no accuracy, so no accuracy threshold), for their own page."""
    if df.empty:
        return df
    return _entries(df, filters, speed=True)


def ranked(rows):
    """The board's order: speedup (the rank key; its point estimate), then accuracy — within an ISA class: a
    ratio measured on another instruction set (int8 with VNNI/AMX vs AVX2 only) is not ranked against it."""
    if "isa_class" in rows.columns and rows["isa_class"].nunique() > 1:
        return rows.sort_values(["isa_class", "speedup", "accuracy_pct"], ascending=[True, False, False],
                                na_position="last", kind="stable")
    return rows.sort_values(["speedup", "accuracy_pct"], ascending=False, na_position="last", kind="stable")


def failed_rows(df, filters: Filters, speed: bool = False):
    """Failed runs of the accuracy tracks (speed=False) or of the speed-only tracks (speed=True)."""
    if df.empty:
        return df
    return _chosen(df[(df["status"] == "failed") & (is_speed(df) == speed)], filters)


def paper_rows(df):
    """Paper reproductions (`slimbench reproduce --paper`), newest first."""
    if df.empty:
        return df
    return df[df["paper"] != ""].sort_values("date", ascending=False)


# -- export --------------------------------------------------------------------------------------------
EXPORT_COLUMNS = [  # (column, header, decimals or None)
    ("track", "track", None), ("target", "target", None), ("method", "method", None),
    ("params_shown", "params (non-default)", None), ("accuracy_pct", "accuracy (%)", 2),
    ("delta_pp", "delta vs fp32 (pp)", 2), ("speedup", "speedup batch 1 (x)", 2),
    ("speedup_ci", "speedup batch 1 95% CI", None), ("throughput_speedup", "speedup batch 64 (x)", 2),
    ("throughput_speedup_ci", "speedup batch 64 95% CI", None), ("repeats", "repeats on this machine", None),
    ("high_load", "timed under high load", None), ("size_kb", "size (KB)", 1),
    ("gzip_compression_ratio", "gzip compression (x)", 2), ("peak_mem_mb", "peak memory (MB)", 1),
    ("precision", "precision", None), ("sparsity_kind", "sparsity", None), ("p50_ms", "p50 latency (ms)", 4),
    ("reproductions", "passing reproductions", None), ("family", "family", None), ("framework", "framework", None),
    ("hardware", "hardware", None), ("isa_class", "ISA class", None), ("submitter", "submitter", None),
    ("date", "date (UTC)", None),
    ("id", "record id", None), ("link", "link", None),
]


def export_table(rows, base_url: str):
    """The filtered rows as a download: readable headers, rounded numbers, absolute entry links."""
    import pandas as pd

    base = base_url.split("?", 1)[0]
    base = base if base.endswith("/") else base + "/"
    rows = ranked(rows)  # the board's order
    table = pd.DataFrame({header: (rows[column].round(digits) if digits is not None else rows[column])
                          if column != "link" else [f"{base}?view=entry&id={i}" for i in rows["id"]]
                          for column, header, digits in EXPORT_COLUMNS})
    return table.reset_index(drop=True)


def export_csv(rows, base_url: str) -> str:
    return export_table(rows, base_url).to_csv(index=False)


def export_json(rows, base_url: str) -> str:
    table = export_table(rows, base_url)
    records = json.loads(table.to_json(orient="records", double_precision=10))
    return json.dumps(records, indent=1, ensure_ascii=False) + "\n"
