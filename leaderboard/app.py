"""SlimBench leaderboard (Streamlit). Start it with `slimbench leaderboard [--store DIR] [--port P]`, or

    streamlit run leaderboard/app.py -- [--store DIR ...] [--published DIR | --no-published]

Stores can also come from the environment: SLIMBENCH_LEADERBOARD_STORES (os.pathsep-separated local
stores, default ./results) and SLIMBENCH_LEADERBOARD_PUBLISHED (default leaderboard/results; empty = none).
The board reads the DuckDB index of the stores (leaderboard/index.py), refreshed when a store directory
changes, and opens a record file only on the Entry page.

Views: Board, All rows, Pareto, Entry, Compare, Papers — selectable in the sidebar; the view, the filters
and the chosen entries live in the URL (?view=entry&id=...&target=edge), so a link shows the same page.

Everything a record says (method names, params, submitter, notes, error messages) is shown as plain text:
it is escaped before any Markdown element and HTML-escaped in Plotly hover text, so a record cannot put a
link, an image or markup on the page."""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:  # `streamlit run leaderboard/app.py` puts only leaderboard/ on the path
    sys.path.insert(0, str(_REPO))

import streamlit as st  # noqa: E402

from leaderboard import data  # noqa: E402
from leaderboard import index as record_index  # noqa: E402
from leaderboard import live  # noqa: E402
from leaderboard import pareto  # noqa: E402

VIEWS = {"Board": "board", "All rows": "rows", "Speed tracks": "speed", "Pareto": "pareto", "Entry": "entry",
         "Compare": "compare", "Papers": "papers"}
SLUG_VIEW = {slug: name for name, slug in VIEWS.items()}
BOARD_TOP = 25             # rows per (track, target) table on the Board; the All rows view has every one
BOARD_OPEN = 4             # (track, target) tables drawn open; more collapsed, drawn when opened (each grid
                           # costs the browser ~0.25 s on a 2-core machine; 4 fill more than a 1000 px screen)
MAX_PICKER_OPTIONS = 2000  # the Entry / Compare pickers list at most this many (best-ranked) filtered rows
NO_ACCURACY = "—"          # the accuracy of a speed-only track's entry (random weights: none is measured)

ISA_NOTE = ("Speedups are ranked within one ISA class: int8 and fp16 kernels use the instruction set the CPU has "
            "(AVX2 only vs AVX-512 VNNI / AMX on x86, dotprod / i8mm on ARM), so the same method's ratio differs by "
            "class and ratios of different classes are not comparable as equals. Each class has its own table.")


def filter_key(param: str) -> str:
    """The session-state key of the multi-select filter behind URL parameter `param` (data.MULTI_FILTERS)."""
    return f"filter_{param}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", action="append", default=None)
    parser.add_argument("--published", default=None)
    parser.add_argument("--no-published", action="store_true")
    args, _ = parser.parse_known_args(argv)  # under AppTest/pytest argv is pytest's: ignore the rest
    return args


# -- plain text ------------------------------------------------------------------------------------
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=^\"'@/])")
_AUTOLINK = re.compile(r"(?i)\\:|\\@|www")


def plain(value) -> str:
    """A record's string, safe inside any Streamlit Markdown element: every Markdown/HTML character is
    backslash-escaped and line breaks flattened, so it renders as the literal text."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", str(value)).replace("\r", " ").replace("\n", " ")
    # Backslash escapes do not stop GFM's autolink literals (http://..., www...., a@b.c): an invisible
    # zero-width space after ':' / '@' / 'www' keeps a URL in a record from becoming a live link.
    return _AUTOLINK.sub(lambda m: m.group(0) + "\u200b", text)


def hover_text(value) -> str:
    """A record's string inside Plotly hover/legend text (which renders a subset of HTML)."""
    return html.escape(str(value), quote=True)


# -- loading ---------------------------------------------------------------------------------------
_MEMO_MAX = 64


@st.cache_resource(show_spinner=False)
def _memo_store():
    """One per server process ({(id(frame), what, key): (frame, result)}, its lock). Not a module global: the
    server executes this script afresh on every rerun, which would reset it."""
    import threading
    return {}, threading.Lock()


def memo(df, what: str, key, compute):
    """compute(), once per frame (a new snapshot of the index is a new frame) and key: a click that changes
    nothing the result depends on costs a dict look-up instead of filtering / ranking 20,000 rows again.
    Results are shared between sessions and reruns: callers must not modify them."""
    store, lock = _memo_store()
    slot = (id(df), what, key)
    with lock:
        hit = store.get(slot)
    if hit is not None and hit[0] is df:
        return hit[1]
    result = compute()
    with lock:
        if len(store) >= _MEMO_MAX:
            for stale in [k for k, (frame, _) in store.items() if frame is not df] or list(store)[:_MEMO_MAX // 2]:
                store.pop(stale, None)
        store[slot] = (df, result)
    return result


def _filters_key(filters: data.Filters):
    return tuple(tuple(v) if isinstance(v, list) else v for v in vars(filters).values())


def board_rows(df, filters: data.Filters):
    """data.board_rows, memoised per frame and filters."""
    return memo(df, "board_rows", _filters_key(filters), lambda: data.board_rows(df, filters))


def speed_rows(df, filters: data.Filters):
    """data.speed_rows, memoised per frame and filters."""
    return memo(df, "speed_rows", _filters_key(filters), lambda: data.speed_rows(df, filters))


def load_everything():
    args = parse_args(sys.argv[1:])
    sources = data.resolve_sources(args.store, args.published, args.no_published)
    board = live.board(sources)  # per process, shared by every session (and the server's preload)
    with st.spinner("Indexing records…"):
        snapshot, df = board.frame()
    return sources, snapshot, df


# -- small helpers ---------------------------------------------------------------------------------
def _fmt(value, spec: str, suffix: str = "", missing: str = "–") -> str:
    try:
        if value is None or value != value:  # None or NaN
            return missing
    except TypeError:
        return missing
    return format(value, spec) + suffix


def number(value) -> str:
    """Readable number: thousands separators, no exponent (2.973e+04 -> 29,730)."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 100):
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.2f}"
    if magnitude >= 0.01 or magnitude == 0:
        return f"{value:.3f}"
    return f"{value:.6f}".rstrip("0")


def entry_label(row) -> str:
    params = f" ({row['params_shown']})" if row.get("params_shown") else ""
    kind = "" if row.get("kind", "run") == "run" else f" [{row['kind']}]"
    return (f"{row['method']}{params}{kind} · {row['track']} · {row['target']} · {str(row['date'])[:10]} · "
            f"{row['id'][:8]}")


def badge(passed: int, failed: int) -> str:
    if passed:
        return f"✓ {passed}" if passed > 1 else "✓"
    return "✗" if failed else ""


def filter_query(filters_state: dict) -> list[tuple[str, str]]:
    """The filters as URL pairs (only those that differ from the defaults)."""
    pairs = []
    for param in data.MULTI_FILTERS:
        pairs += [(param, v) for v in filters_state.get(filter_key(param)) or []]
    if filters_state.get("min_rel_acc", data.DEFAULT_MIN_RELATIVE_ACCURACY * 100) != \
            data.DEFAULT_MIN_RELATIVE_ACCURACY * 100:
        pairs.append(("min_acc", f"{filters_state['min_rel_acc']:g}"))
    if not filters_state.get("latest_only", True):
        pairs.append(("latest", "0"))
    if not filters_state.get("current_reference_only", True):
        pairs.append(("current_ref", "0"))
    if filters_state.get("show_over_budget"):
        pairs.append(("over_budget", "1"))
    if filters_state.get("compact"):
        pairs.append(("cols", "compact"))
    return pairs


def entry_link(record_id: str, filter_pairs: list[tuple[str, str]]) -> str:
    return "?" + urllib.parse.urlencode([("view", "entry"), ("id", record_id), *filter_pairs])


def base_url() -> str:
    """This page's absolute URL without the query (for the links in downloads)."""
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001 — no browser context (AppTest)
        url = ""
    if not url:
        host = (getattr(st.context, "headers", None) or {}).get("Host") if hasattr(st, "context") else None
        url = f"http://{host}/" if host else "http://localhost:8501/"
    return url.split("?", 1)[0]


# -- problems --------------------------------------------------------------------------------------
def show_problems(snapshot) -> None:
    """Malformed records: one collapsed expander with the count and the file names (never a server path)."""
    problems = snapshot.problems
    if not problems:
        return
    import pandas as pd

    with st.expander(f"⚠️ {len(problems)} malformed record file{'s' if len(problems) != 1 else ''} skipped"):
        st.dataframe(pd.DataFrame([{"store": s, "file": f, "problem": m} for s, f, m in problems]),
                     hide_index=True, width="stretch", key="problems_table",
                     height=min(35 * len(problems) + 40, 400))


# -- sidebar and URL state ---------------------------------------------------------------------------
def _init_state_from_url(df) -> None:
    """On a session's first run, the widgets start from the URL (a shared link shows the same view)."""
    state, params = st.session_state, st.query_params
    if state.get("_url_loaded"):
        return
    state["_url_loaded"] = True
    state["view"] = SLUG_VIEW.get(params.get("view", "board").lower(), "Board")
    for param, spec in data.MULTI_FILTERS.items():
        options = set(df[spec.column].dropna().unique()) if not df.empty else set()
        state[filter_key(param)] = [v for v in params.get_all(param) if v in options]
    try:
        state["min_rel_acc"] = min(100.0, max(0.0, float(params.get("min_acc", "")) or 0.0))
    except ValueError:
        state["min_rel_acc"] = data.DEFAULT_MIN_RELATIVE_ACCURACY * 100
    state["latest_only"] = params.get("latest", "1") != "0"
    state["current_reference_only"] = params.get("current_ref", "1") != "0"
    state["show_over_budget"] = params.get("over_budget") == "1"
    user_agent = ""
    try:
        user_agent = (st.context.headers or {}).get("User-Agent", "") or ""
    except Exception:  # noqa: BLE001
        pass
    state["compact"] = params.get("cols") == "compact" or ("cols" not in params and "Mobi" in user_agent)
    if params.get("id"):
        state["entry_id"] = params.get("id")
    state["compare_ids"] = [i for i in params.get_all("ids") if i in set(df["id"])] if not df.empty else []


def sidebar(df, sources, snapshot) -> tuple[str, data.Filters, list[tuple[str, str]]]:
    _init_state_from_url(df)
    st.sidebar.title("SlimBench")
    view = st.sidebar.radio("View", list(VIEWS), key="view")
    st.sidebar.header("Filters")
    filters = data.Filters()

    for param, spec in data.MULTI_FILTERS.items():
        key, column = filter_key(param), spec.column
        options = memo(df, "options", column, lambda: sorted(x for x in df[column].dropna().unique() if x != "")
                       if not df.empty else [])
        st.session_state[key] = [v for v in st.session_state.get(key, []) if v in options]
        picked = st.sidebar.multiselect(spec.label, options, placeholder="all", help=spec.help, key=key)
        setattr(filters, spec.field, picked or None)
    percent = st.sidebar.slider("Minimum accuracy relative to fp32 (%)", 0.0, 100.0, step=0.5, key="min_rel_acc",
                                help="accuracy / fp32 accuracy measured in the same session; the default 99% "
                                     "follows MLPerf's closed division")
    filters.min_relative_accuracy = percent / 100
    filters.latest_only = st.sidebar.checkbox("Latest run per configuration and machine", key="latest_only")
    filters.current_reference_only = st.sidebar.checkbox(
        "Only runs on the current reference checkpoint", key="current_reference_only",
        help="Hide records measured against a reference model that has since been retrained (other sha256)")
    filters.show_over_budget = st.sidebar.checkbox(
        "Show over-budget entries", key="show_over_budget",
        help="Runs that spent more than the track's budget (a chain: its stages in all) are hidden by default: they "
             "are not comparable with budget-bound entries; the record's over_budget says why")
    st.sidebar.checkbox("Compact columns (phones)", key="compact", help="method, Δ vs fp32 and speedup only")
    with st.sidebar.expander("Record stores"):
        for source in sources:
            st.caption(f"{source.label}: {plain(Path(source.root).name)} — "
                       f"{snapshot.counts.get(str(source.root), 0)} valid")
        if not sources:
            st.caption("(none configured)")
    pairs = filter_query(st.session_state)
    _sync_url(view, pairs)
    return view, filters, pairs


def _sync_url(view: str, pairs: list[tuple[str, str]]) -> None:
    wanted: dict[str, list[str]] = {"view": [VIEWS[view]]}
    for key, value in pairs:
        wanted.setdefault(key, []).append(value)
    if view == "Entry" and st.session_state.get("entry_id"):
        wanted["id"] = [st.session_state["entry_id"]]
    if view == "Compare" and st.session_state.get("compare_ids"):
        wanted["ids"] = list(st.session_state["compare_ids"])
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict({k: v if len(v) > 1 else v[0] for k, v in wanted.items()})


# -- Board -------------------------------------------------------------------------------------------
def board_columns(compact: bool, flat: bool = False) -> dict:
    """The columns that decide, in order: method (pinned), non-default params, accuracy, Δ, speedup (the rank
    key), batch-64 speedup, size, gzip ratio, peak memory, precision, sparsity, reproduced; hardware, date
    and the entry link last. Compact (phones): method, Δ, speedup."""
    cc = st.column_config
    columns = {}
    if flat:
        columns["track"] = cc.TextColumn("track", pinned=True)
        columns["target"] = cc.TextColumn("target", pinned=True)
    columns["method"] = cc.TextColumn("method", pinned=True)
    if compact:
        columns["delta_pp"] = cc.NumberColumn("Δ pp", format="%+.2f", help="accuracy minus fp32 accuracy")
        columns["speedup"] = cc.NumberColumn("speedup ×", format="%.2f", help="batch 1, vs fp32 in the same session")
        columns["link"] = cc.LinkColumn("entry", display_text="open")
        return columns
    columns.update({
        "params_shown": cc.TextColumn("params", help="only the parameters that differ from the method's defaults"),
        "accuracy_pct": cc.NumberColumn("accuracy %", format="%.2f"),
        "delta_pp": cc.NumberColumn("Δ pp", format="%+.2f", help="accuracy minus the fp32 accuracy measured in the "
                                                                  "same session (percentage points)"),
        "speedup": cc.NumberColumn("speedup ×", format="%.2f",
                                   help="the rank key: fp32 p50 / method p50 at batch 1, interleaved in one session "
                                        "(sorted by this point estimate; its 95% interval is the next column)"),
        "speedup_ci": cc.TextColumn("95% CI", help="the batch-1 speedup's 95% interval from the interleaved rounds "
                                                   "(docs/measurement.md); empty for records older than issue 16"),
        "throughput_speedup": cc.NumberColumn("b64 speedup ×", format="%.2f",
                                              help="offline throughput at batch 64 vs fp32, same session"),
        "size_kb": cc.NumberColumn("size KB", format="%.1f", help="the exported artifact"),
        "gzip_compression_ratio": cc.NumberColumn("gzip ×", format="%.2f",
                                                  help="fp32 artifact gzip size / this artifact's gzip size"),
        "peak_mem_mb": cc.NumberColumn("peak MB", format="%.1f", help="net peak RSS at batch 64"),
        "precision": cc.TextColumn("precision", help="W8A8: int8 weights and activations; W8A32: int8 weights, "
                                                     "float activations; FP16 / FP32: float"),
        "sparsity_kind": cc.TextColumn("sparsity", help="structured (channels removed) / unstructured (weights "
                                                        "zeroed) / none"),
        "badge": cc.TextColumn("repro", width="small",
                               help="✓ reproduced: a `slimbench reproduce` record with a passing verdict matches "
                                    "this entry (✓ 2: two of them); ✗: only failing reproductions. Who and when: "
                                    "open the entry"),
        "family": cc.TextColumn("family"),
        "p50_ms": cc.NumberColumn("p50 ms", format="%.4f", help="absolute, batch 1: depends on the hardware"),
        "isa_class": cc.TextColumn("ISA", help="the CPU's ISA class: speedups are ranked within one class"),
        "repeats": cc.TextColumn("repeats", help="repeated records of this configuration on this machine (slimbench "
                                                 "run --repeat N): the median speedup and its spread (min–max)"),
        "load": cc.TextColumn("load", width="small",
                              help="⚠: timed under high load (other processes took more than the threshold share of "
                                   "the CPUs): the speedup may be distorted"),
        "hardware": cc.TextColumn("hardware", help="the CPU (and GPU) the latency was measured on"),
        "date": cc.TextColumn("date (UTC)"),
        "link": cc.LinkColumn("entry", display_text="open", help="the entry page: reproductions, provenance, record"),
    })
    return columns


def _needed(columns) -> list[str]:
    """The frame columns a table with these display columns is built from."""
    return list(dict.fromkeys([*(c for c in columns if c not in ("badge", "link", "load")), "id", "reproductions",
                               "failed_reproductions", "date", "accuracy_pct", "isa_class", "high_load"]))


def _decorate(table, filter_pairs):
    """Badge, entry link and readable date columns on a (ranked, already cut) copy of frame rows."""
    table = table.copy()
    table["badge"] = [badge(ok, bad) for ok, bad in zip(table["reproductions"], table["failed_reproductions"])]
    suffix = urllib.parse.urlencode(filter_pairs)
    suffix = f"&{suffix}" if suffix else ""
    table["link"] = [f"?view=entry&id={i}{suffix}" for i in table["id"]]  # ids are hex: nothing to quote
    table["date"] = table["date"].str.replace("T", " ").str.rstrip("Z")
    table["load"] = ["⚠ high" if high else "" for high in table["high_load"]]
    return table


def _table(rows, filter_pairs, compact: bool, flat: bool, limit: int | None = None, speed: bool = False):
    """The rows to show, ranked (the best `limit` when given), with badge, date and entry link columns.
    speed: a speed-only track's rows — accuracy and Δ show NO_ACCURACY (none is measured)."""
    columns = board_columns(compact, flat)
    table = data.ranked(rows[_needed(columns)])
    if limit is not None:
        table = table.head(limit)
    table = _decorate(table, filter_pairs)
    if speed:
        for column, label in (("accuracy_pct", "accuracy %"), ("delta_pp", "Δ pp")):
            if column in columns:
                table[column] = NO_ACCURACY
                columns[column] = st.column_config.TextColumn(
                    label, help="random weights: speed, memory and size only (no accuracy is measured)")
    return table, columns


@dataclass(frozen=True)
class Shown:
    """A table ready to draw: its display columns as an Arrow table (converted once and memoised, not on every
    rerun: Streamlit sends Arrow, and converting 32 pandas tables was most of a Board rerun), the record id of
    each row (what a selected position means) and the column config."""
    arrow: object
    ids: list
    columns: dict

    def __len__(self) -> int:
        return len(self.ids)


def shown_table(table, columns) -> Shown:
    import pyarrow as pa

    return Shown(pa.Table.from_pandas(table[list(columns)], preserve_index=False), table["id"].tolist(), columns)


def selectable_table(table: Shown, key: str) -> None:
    """A board table whose rows can be selected for Compare; remembers which record each position shows."""
    st.session_state[f"{key}__ids"] = table.ids
    st.dataframe(table.arrow, column_config=table.columns, hide_index=True, width="stretch", key=key,
                 on_select="rerun", selection_mode="multi-row",
                 height="auto" if len(table) <= 12 else min(35 * len(table) + 40, 560))


def selected_ids() -> list[str]:
    ids = []
    for key in list(st.session_state.keys()):
        if not isinstance(key, str) or not key.endswith("__ids"):
            continue
        event = st.session_state.get(key[:-len("__ids")])
        positions = _selection_rows(event)
        known = st.session_state[key]
        ids += [known[p] for p in positions if p < len(known) and known[p] not in ids]
    return ids


def _selection_rows(event) -> list[int]:
    try:
        return list(event["selection"]["rows"])
    except (KeyError, TypeError):
        try:
            return list(event.selection.rows)
        except AttributeError:
            return []


def _go_compare() -> None:
    st.session_state["compare_ids"] = selected_ids()
    st.session_state["view"] = "Compare"


def actions(rows) -> None:
    """Compare selected, and one 'Download filtered' pair: every filtered row with track and target, readable
    headers, rounded numbers and absolute entry links (built only when clicked)."""
    chosen = selected_ids()
    compare, left, right, _ = st.columns([1, 1, 1, 1.5], vertical_alignment="center")
    compare.button(f"Compare selected ({len(chosen)})", key="compare_selected", on_click=_go_compare,
                   disabled=len(chosen) < 2, type="primary", width="stretch",
                   help="select two or more rows (the boxes left of each row), then compare them side by side")
    base = base_url()
    left.download_button("Download filtered (CSV)", lambda: data.export_csv(rows, base),
                         file_name="slimbench-leaderboard.csv", mime="text/csv", key="download_csv",
                         icon=":material/download:", width="stretch")
    right.download_button("Download filtered (JSON)", lambda: data.export_json(rows, base),
                          file_name="slimbench-leaderboard.json", mime="application/json", key="download_json",
                          icon=":material/download:", width="stretch")


def _board_header(df, rows, hidden, filters) -> bool:
    if hidden:
        st.caption(f"{hidden} entr{'y' if hidden == 1 else 'ies'} below "
                   f"{filters.min_relative_accuracy * 100:g}% of fp32 accuracy hidden (lower the threshold to see).")
    if rows.empty:
        st.info("No entries match the filters." if not df.empty else
                "No records yet. Run `slimbench run --suite default` (writes ./results), or publish records "
                "with `slimbench publish --from DIR`.")
        return False
    return True


def board(df, filters: data.Filters, filter_pairs, compact: bool) -> None:
    st.header("Board")
    st.caption("Ranked by **speedup** (a ratio against fp32 measured in the same session, so it compares across "
               "machines); absolute latency is shown with the hardware it came from. Click a column to re-sort; "
               "select rows to compare them.")
    rows, hidden = board_rows(df, filters)
    _speed_note(df, filters)
    if _board_header(df, rows, hidden, filters):
        actions(rows)
        _isa_note(rows)
    groups = _board_groups(df, filters, filter_pairs, compact)
    if len(groups) > BOARD_OPEN:
        st.caption(f"{len(groups)} track · target tables: the first {BOARD_OPEN} are open, the others one click "
                   "away (or filter a track / target).")
    for n, group in enumerate(groups):
        shown = f"the {BOARD_TOP} best of " if group.count > BOARD_TOP else ""
        caption = (f"runtime: {plain(group.runtimes or 'unknown')} · ISA class {plain(group.isa or 'unknown')} · "
                   f"{shown}{group.count} entr{'y' if group.count == 1 else 'ies'}"
                   + (" — *All rows* lists every one" if shown else "") + _load_caption(group.high_load))
        if n < BOARD_OPEN:
            st.subheader(group.title)
            st.caption(caption)
            selectable_table(group.table, key=f"board_{group.key}")
            continue
        best_method, best_speedup = group.best
        # lazy: a closed expander's table is neither sent nor drawn (the browser spent ~1.5 s of a 20k-record
        # Board drawing 24 hidden grids); opening it reruns the script, which then draws it
        with st.expander(f"{group.title} — {group.count} entr{'y' if group.count == 1 else 'ies'}, "
                         f"best {plain(best_method)} {_fmt(best_speedup, '.2f', '×')}",
                         key=f"open_{group.key}", on_change="rerun") as section:
            st.caption(caption)
            if section.open:
                selectable_table(group.table, key=f"board_{group.key}")
    failed = data.failed_rows(df, filters)
    if not failed.empty:
        with st.expander(f"Failed runs ({len(failed)}) — not ranked", key="open_failed", on_change="rerun") as section:
            if section.open:
                st.dataframe(failed[["track", "target", "method", "error_phase", "error_type", "error_message",
                                     "date", "id"]], hide_index=True, width="stretch")


@dataclass(frozen=True)
class BoardGroup:
    """One ranked table of the Board: a track · target on one ISA class (ratios of different classes are not
    ranked together)."""
    track: str
    target: str
    isa: str
    split: bool          # the track · target has entries of more than one ISA class
    count: int           # entries (the table shows the BOARD_TOP best)
    runtimes: str
    best: tuple          # (method, speedup) of the first row
    high_load: int       # entries timed under high load
    table: Shown

    @property
    def title(self) -> str:
        return f"{plain(self.track)} · {plain(self.target)}" + (f" · {plain(self.isa)}" if self.split else "")

    @property
    def key(self) -> str:
        return f"{self.track}_{self.target}" + (f"_{self.isa}" if self.split else "")


def _board_groups(df, filters: data.Filters, filter_pairs, compact: bool) -> list[BoardGroup]:
    """One BoardGroup per track · target · ISA class, memoised per frame, filters and column set (a view switch,
    or a rerun that changes none of them, redoes nothing). Ranked once, cut to the best of each group,
    decorated once."""
    def compute():
        rows, _ = board_rows(df, filters)
        if rows.empty:
            return []
        columns = board_columns(compact)
        key = ["track", "target", "isa_class"]
        rows = rows.assign(isa_class=rows["isa_class"].fillna(""))
        ranked = data.ranked(rows[list(dict.fromkeys([*_needed(columns), *key, "runtime"]))])
        top = _decorate(ranked.groupby(key, sort=False).head(BOARD_TOP), filter_pairs)
        counts = rows.groupby(key).size()
        loaded = rows.groupby(key)["high_load"].sum()
        runtimes = rows.groupby(key)["runtime"].agg(lambda r: ", ".join(sorted(set(r) - {""})))
        classes = rows.groupby(["track", "target"])["isa_class"].nunique()
        top = top.sort_values(key, kind="stable")  # group by group, rank order kept within each
        whole = shown_table(top, columns)           # one Arrow conversion for every table, then slices of it
        groups, offset = [], 0
        for (track, target, isa), n in top.groupby(key, sort=True).size().items():
            first = top.iloc[offset]
            table = Shown(whole.arrow.slice(offset, n), whole.ids[offset:offset + n], columns)
            groups.append(BoardGroup(track, target, isa, bool(classes[(track, target)] > 1),
                                     int(counts[(track, target, isa)]), runtimes[(track, target, isa)],
                                     (first["method"], first["speedup"]), int(loaded[(track, target, isa)]), table))
            offset += n
        return groups
    return memo(df, "board_groups", (_filters_key(filters), tuple(filter_pairs), compact), compute)


def _isa_note(rows) -> None:
    """Say why the tables are split when the rows come from more than one ISA class."""
    classes = sorted(set(rows["isa_class"].dropna()) - {""}) if "isa_class" in rows.columns else []
    if len(classes) > 1:
        st.info(f"{len(classes)} ISA classes ({', '.join(plain(c) for c in classes)}). {ISA_NOTE}")


def _load_caption(high_load: int) -> str:
    if not high_load:
        return ""
    return (f" · ⚠ {high_load} timed under high load (their speedups may be distorted; the *load* column marks "
            "them)")


def flat_view(df, filters: data.Filters, filter_pairs, compact: bool) -> None:
    st.header("All rows")
    st.caption("Every filtered entry in one table, with its track and target; sorted by speedup — click a column "
               "to re-sort.")
    rows, hidden = board_rows(df, filters)
    _speed_note(df, filters)
    if not _board_header(df, rows, hidden, filters):
        return
    actions(rows)
    _isa_note(rows)
    st.caption(f"{len(rows)} entr{'y' if len(rows) == 1 else 'ies'}" + _load_caption(int(rows["high_load"].sum())))
    table = memo(df, "flat_table", (_filters_key(filters), tuple(filter_pairs), compact),
                 lambda: shown_table(*_table(rows, filter_pairs, compact, flat=True)))
    selectable_table(table, key="flat_table")


# -- Speed tracks ------------------------------------------------------------------------------------
SPEED_CAPTION = ("Speed-only tracks: production architectures at their real input sizes with fixed-seed random "
                 "weights — speed, memory and size only, **no accuracy** (shown as —). Ranked by speedup among "
                 "themselves, never against the accuracy tracks; the minimum-accuracy filter does not apply.")


def _speed_note(df, filters: data.Filters) -> None:
    """On the accuracy views: say where the speed-only tracks' entries are (they are never ranked here)."""
    n = len(speed_rows(df, filters))
    if n:
        st.caption(f"{n} entr{'y' if n == 1 else 'ies'} of speed-only tracks (no accuracy) are on the "
                   "*Speed tracks* page, not ranked here.")


def speed_view(df, filters: data.Filters, filter_pairs, compact: bool) -> None:
    st.header("Speed tracks")
    st.caption(SPEED_CAPTION)
    rows = speed_rows(df, filters)
    failed = data.failed_rows(df, filters, speed=True)
    if rows.empty:
        st.info("No speed-track entries match the filters." if not df.empty and data.is_speed(df).any() else
                "No speed-track records yet: `slimbench run --suite speed`.")
    else:
        actions(rows)
        _isa_note(rows)
        rows = rows.assign(isa_class=rows["isa_class"].fillna(""))
        classes = rows.groupby(["track", "target"])["isa_class"].nunique()
        for (track, target, isa), group in rows.groupby(["track", "target", "isa_class"], sort=True):
            split = classes[(track, target)] > 1
            runtimes = ", ".join(sorted(set(group["runtime"]) - {""}))
            st.subheader(f"{plain(track)} · {plain(target)}" + (f" · {plain(isa)}" if split else ""))
            st.caption(f"runtime: {plain(runtimes or 'unknown')} · ISA class {plain(isa or 'unknown')} · "
                       f"{len(group)} entr{'y' if len(group) == 1 else 'ies'}"
                       + _load_caption(int(group["high_load"].sum())))
            table, columns = _table(group, filter_pairs, compact, flat=False, limit=BOARD_TOP, speed=True)
            selectable_table(shown_table(table, columns), key=f"speed_{track}_{target}" + (f"_{isa}" if split else ""))
        speed_plot(rows)
    if not failed.empty:
        with st.expander(f"Failed runs ({len(failed)}) — not ranked"):
            st.dataframe(failed[["track", "target", "method", "error_phase", "error_type", "error_message", "date",
                                 "id"]], hide_index=True, width="stretch")


def speed_plot(rows) -> None:
    """Speedup against artifact size or peak memory, one track · target at a time (no accuracy axis)."""
    st.subheader("Speedup vs size / memory")
    track, target, metric, log_x = _plot_controls(rows, pareto.SPEED_X_METRICS, "Speedup vs", "speed")
    _plot(pareto.speed_figure, rows[(rows["track"] == track) & (rows["target"] == target)], metric, log_x,
          f"{track} · {target}: speedup vs {metric}", "speed_chart")


def _plot_controls(rows, metrics: dict, label: str, prefix: str):
    """The plot's pickers: track · target, the x metric and a log-x box (widget keys prefixed `prefix`)."""
    combos = sorted(set(zip(rows["track"], rows["target"])))
    left, middle, right = st.columns([2, 2, 1])
    track, target = left.selectbox("Track · target", combos, format_func=lambda c: f"{c[0]} · {c[1]}",
                                   key=f"{prefix}_combo")
    metric = middle.radio(label, list(metrics), horizontal=True, key=f"{prefix}_metric")
    log_x = right.checkbox("log x axis", value=metrics[metric][2], key=f"{prefix}_log_{metric}")
    return track, target, metric, log_x


def _plot(draw, part, metric: str, log_x: bool, title: str, key: str):
    """Draw `draw(rows, metric, log_x, title)` (a pareto figure) with the record's strings HTML-escaped for
    Plotly's hover; returns the plotted rows, or None (and says why) when nothing has that measurement."""
    shown = part.copy()
    for column in ("method", "family", "framework", "hardware", "target", "id"):
        shown[column] = shown[column].map(hover_text)
    fig, plotted = draw(shown, metric, log_x, title=hover_text(title))
    if plotted.empty:
        st.info(f"No entry here has a {metric} measurement (memory needs runs without --no-memory).")
        return None
    st.plotly_chart(fig, width="stretch", key=key)
    return plotted


# -- Pareto ------------------------------------------------------------------------------------------
def pareto_view(df, filters: data.Filters) -> None:
    st.header("Pareto")
    rows, _ = board_rows(df, filters)
    if rows.empty:
        st.info("No entries match the filters.")
        return
    track, target, metric, log_x = _plot_controls(rows, pareto.X_METRICS, "Accuracy vs", "pareto")
    part = rows[(rows["track"] == track) & (rows["target"] == target)]
    if metric == "latency" and part["hardware"].nunique() > 1:
        st.warning(f"Absolute latency from {part['hardware'].nunique()} different machines is plotted together; "
                   "filter one hardware, or use 'relative latency' (same-session ratio).")
    if metric == "relative latency" and part["isa_class"].nunique() > 1:
        st.warning(f"Speedups from {part['isa_class'].nunique()} ISA classes are plotted together: {ISA_NOTE} "
                   "Filter one ISA class to compare like with like.")
    plotted = _plot(pareto.figure, part, metric, log_x, f"{track} · {target}: accuracy vs {metric}", "pareto_chart")
    if plotted is None:
        return
    front = part[part["id"].isin(set(plotted[plotted["on_front"]]["id"]))]
    st.caption("Pareto front (no other entry is both cheaper and at least as accurate): "
               + ", ".join(f"**{plain(m)}**" for m in front.sort_values("accuracy_pct")["method"]))


# -- Entry -------------------------------------------------------------------------------------------
def read_full_record(row) -> dict | None:
    """The entry's own file (the index holds only the flat row); re-checked against its content id."""
    from suite.records.store import content_id

    root = row.get("root")
    if not root or not row.get("file"):
        return None
    record, cid, _problem = record_index.read_record(Path(root) / row["file"])
    return record if record is not None and cid == row["id"] else None


def _picker_ids(df, filters: data.Filters, extra: list[str]) -> list[str]:
    """Filtered entries (best-ranked first, at most MAX_PICKER_OPTIONS) plus the ones already chosen."""
    rows, _ = board_rows(df, filters)
    ids = (data.ranked(rows)["id"].tolist() + data.ranked(speed_rows(df, filters))["id"].tolist())
    ids = ids[:MAX_PICKER_OPTIONS]
    return ids + [i for i in extra if i not in set(ids) and i in set(df["id"])]


def entry_view(df, filters: data.Filters, filter_pairs) -> None:
    st.header("Entry")
    if df.empty:
        st.info("No records.")
        return
    wanted = st.session_state.get("entry_id")
    ids = _picker_ids(df, filters, [wanted] if wanted else [])
    if not ids:
        st.info("No entries match the filters.")
        return
    by_id = df.set_index("id", drop=False)
    if wanted not in ids:
        st.session_state["entry_id"] = ids[0]
    record_id = st.selectbox("Entry", ids, format_func=lambda i: entry_label(by_id.loc[i]), key="entry_id")
    _sync_url("Entry", filter_pairs)
    row = by_id.loc[record_id]
    record = read_full_record(row)
    st.subheader(f"{plain(row['method'])} on {plain(row['track'])} · {plain(row['target'])}")
    tags = [f"family **{plain(row['family'])}**", f"framework **{plain(row['framework'])}**",
            f"precision **{plain(row['precision'])}**", f"sparsity **{plain(row['sparsity_kind'])}**",
            f"status **{plain(row['status'])}**", f"kind **{plain(row['kind'])}**",
            f"source **{plain(row['source'])}**", f"created {plain(row['date'])}"]
    if row.get("submitter"):
        tags.append(f"submitted by **{plain(row['submitter'])}**")
    st.markdown(" · ".join(tags))
    if row["params_shown"]:
        st.caption(f"parameters that differ from the defaults: {plain(row['params_shown'])}")
    if row["status"] == "failed":
        st.error(f"Failed in phase {plain(row['error_phase'])}: {plain(row['error_type'])}: "
                 f"{plain(row['error_message'])}")
        traceback = ((record or {}).get("error") or {}).get("traceback")
        if traceback:
            with st.expander("traceback"):
                st.code(traceback, language="text")
    else:
        cols = st.columns(5)
        if row.get("track_kind") == "speed":
            cols[0].metric("accuracy", NO_ACCURACY, help=plain(row.get("accuracy_null_reason")
                                                            or "speed-only track: no accuracy is measured"))
        else:
            cols[0].metric("accuracy", _fmt(row["accuracy_pct"], ".2f", "%"), _fmt(row["delta_pp"], "+.2f", " pp"))
        cols[1].metric("speedup (batch 1)", _fmt(row["speedup"], ".2f", "×"),
                       help=f"95% interval {row['speedup_ci']}" if row.get("speedup_ci") else
                       "no interval recorded (the fp32 baseline itself, or a record older than issue 16)")
        cols[2].metric("p50 latency", _fmt(row["p50_ms"], ".4f", " ms"), help=f"on {plain(row['hardware'])}")
        cols[3].metric("artifact size", _fmt(row["size_kb"], ",.1f", " KB"),
                       _fmt(row["compression_ratio"], ".2f", "× smaller"), delta_color="off")
        cols[4].metric("peak memory", _fmt(row["peak_mem_mb"], ".1f", " MB"))
        st.caption(f"offline batch {_fmt(row['throughput_batch'], '.0f')}: {_fmt(row['throughput'], ',.0f')} "
                   f"samples/s ({_fmt(row['throughput_speedup'], '.2f', '×')} fp32"
                   + (f" {plain(row['throughput_speedup_ci'])}" if row.get("throughput_speedup_ci") else "")
                   + f") · measured on {plain(row['hardware'])}, "
                   f"ISA class {plain(row.get('isa_class') or 'unknown')}, {plain(row['runtime'])}")
        if row.get("speedup_ci"):
            st.caption(f"speedup 95% intervals: batch 1 {plain(row['speedup_ci'])}"
                       + (f", batch {_fmt(row['throughput_batch'], '.0f')} {plain(row['throughput_speedup_ci'])}"
                          if row.get("throughput_speedup_ci") else ""))
            from suite.measure.between_runs import rerun_interval
            rerun = rerun_interval(row.get("speedup"), [row.get("speedup_ci_low"), row.get("speedup_ci_high")]
                                   if row.get("speedup_ci_low") is not None else None)
            if rerun:
                st.caption(f"A re-run of this configuration on this machine lands, 95%, between {rerun[0]:.2f}× and "
                           f"{rerun[1]:.2f}× at batch 1 (the interval above is for the machine's speedup; another "
                           "run's estimate has noise of its own: docs/measurement.md, Re-run intervals).")
        timing = (((record or {}).get("results") or {}).get("timing") or {})
        between = timing.get("between_runs") or {}
        if between.get("applied"):
            own = (timing.get("single_stream") or {}).get("ci_run")
            st.caption(f"The intervals include this machine's between-run spread, measured by {between['groups']} "
                       f"`--repeat` group(s) of {between['runs']} runs ({plain(', '.join(between['measured']))}); "
                       + (f"this run's own batch-1 interval: [{own[0]:.2f}, {own[1]:.2f}]. " if own else "")
                       + "docs/measurement.md, Between-run spread.")
        elif between:
            st.caption(f"The intervals cover this run only: {plain(between.get('reason', ''))}.")
        if _flag(row.get("high_load")):
            st.warning(f"Timed under high load: other processes took {_fmt(row.get('load_share'), '.0%')} of the "
                       "CPUs during the timing; the speedups may be distorted.")
        if (row.get("repeat_n") or 0) > 1:
            st.caption(f"{int(row['repeat_n'])} records of this configuration on this machine: speedup "
                       f"{plain(row['repeats'])}")
        for note in ((record or {}).get("results") or {}).get("notes") or []:
            st.info(plain(note))
    reproductions_section(df, row, filter_pairs)
    if row.get("paper"):
        paper_section(row)
    if record is None:
        st.warning("The record file changed or disappeared since it was indexed; reload the page.")
        return
    cfg = record["config"]
    st.markdown("**Reproduce this entry**")
    st.code(cfg.get("command") or "(no command recorded)", language="bash")
    if cfg.get("method_source_sha256"):
        st.caption(f"submitted method source, sha256 {plain(cfg.get('method_source_sha256'))}")
    for stage in cfg.get("method_stages") or []:  # a chain's submitted stages, each with its own source
        if isinstance(stage, dict) and stage.get("source_sha256"):
            st.caption(f"stage {plain(stage.get('stage'))} {plain(stage.get('method'))} "
                       f"({plain(stage.get('spec'))}): submitted source, sha256 {plain(stage.get('source_sha256'))}")
    st.download_button("Download record JSON", json.dumps(record, indent=2, sort_keys=True) + "\n",
                       file_name=f"{record_id}.json", mime="application/json", key="download_record")
    left, right = st.columns(2)
    with left:
        st.markdown("**Configuration**")
        st.json(cfg, expanded=True)
        st.markdown("**Results**")
        st.json(record.get("results") or {}, expanded=1)
    with right:
        st.markdown("**Provenance**")
        st.json(record.get("provenance") or {}, expanded=1)
        st.markdown("**Artifact**")
        st.json(record.get("artifact") or {}, expanded=True)
        from suite.reproduce.verdict import read_verdict

        verdict = read_verdict(record)  # typed; an older record's verdict upgraded (suite/records/migrate.py)
        if verdict is not None:
            st.markdown("**Verdict**")
            if verdict.of:
                st.markdown(f"reproduction of [{plain(verdict.of[:16])}]"
                            f"({entry_link(re.sub('[^0-9a-f]', '', verdict.of)[:16], filter_pairs)}): "
                            + ("passed" if verdict.passed else "did not pass"))
            if verdict.checks:
                import pandas as pd
                st.dataframe(pd.DataFrame([c.to_dict() for c in verdict.checks]).astype(str), hide_index=True,
                             width="stretch", key="verdict_checks")
            st.json(record.get("verdict"), expanded=False)
    with st.expander("Every field of the record"):
        st.json(record, expanded=True)
        st.caption(f"file: {plain(row['file'])} in the {plain(row['source'])} store")


def reproductions_section(df, row, filter_pairs) -> None:
    """Who reproduced this entry, when, on what machine and commit, with what verdict."""
    import pandas as pd

    found = data.reproductions_of(df, row["id"])
    passed, failed = int((found["confirms"]).sum()), int((found["contradicts"]).sum())
    st.markdown(f"**Reproductions** — {passed} passing, {failed} failing")
    if found.empty:
        st.caption("Nobody has reproduced this entry yet: `slimbench reproduce " + row["id"] + "` re-runs it from "
                   "its configuration and seed and writes a verdict record.")
        return
    if len(found) <= 20:  # a short list reads better than a table (and a browser test can read it)
        lines = []
        for _, rep in found.iterrows():
            verdict = "✓ passed" if rep["confirms"] else "✗ failed"
            who = f" by {plain(rep['submitter'])}" if rep["submitter"] else ""
            lines.append(f"- {verdict} · {plain(rep['date'].replace('T', ' ').rstrip('Z'))} UTC{who} · on "
                         f"{plain(rep['hardware'])} · commit {plain(rep['commit'] or '–')} · "
                         f"[record {rep['id'][:8]}]({entry_link(rep['id'], filter_pairs)})")
        st.markdown("\n".join(lines))
    table = pd.DataFrame({
        "verdict": ["✓ passed" if c else "✗ failed" for c in found["confirms"]],
        "date (UTC)": found["date"].str.replace("T", " ").str.rstrip("Z"),
        "reproduced by": [s or "–" for s in found["submitter"].fillna("")],
        "machine": found["hardware"], "commit": found["commit"],
        "accuracy %": found["accuracy_pct"].round(2), "speedup ×": found["speedup"].round(2),
        "record": [entry_link(i, filter_pairs) for i in found["id"]],
    })
    with st.expander(f"as a table ({len(found)})", expanded=len(found) > 20):
        st.dataframe(table, hide_index=True, width="stretch", key="reproductions_table",
                     column_config={"record": st.column_config.LinkColumn("record",
                                                                          display_text=r"id=([0-9a-f]{8})")})


def paper_section(row) -> None:
    """A paper reproduction: the paper's number beside ours, row by row."""
    import pandas as pd

    payload = json.loads(row["paper_rows"] or "{}")
    citation = payload.get("citation") or {}
    st.markdown(f"**Paper reproduction** — {plain(row['paper_title'] or row['paper'])}")
    if citation.get("short"):
        st.caption(plain(citation["short"]))
    if payload.get("rows"):
        st.dataframe(paper_table(payload["rows"]), hide_index=True, width="stretch", key="paper_rows_table")
    for note in payload.get("notes") or []:
        st.caption(plain(note))



def _verdict_cell(value, number) -> str:
    """A verdict number as text; a context row without the paper's figure shows a dash, not 'None'."""
    if value is None:
        return "—"
    return number(value) if isinstance(value, (int, float)) else str(value)

def paper_table(rows: list[dict]):
    import pandas as pd

    def status(item):
        passed = item.get("passed")
        return "✓ within tolerance" if passed is True else "✗ outside tolerance" if passed is False else \
            str(item.get("status") or "context")
    return pd.DataFrame({
        "quantity": [str(r.get("quantity", "")) for r in rows],
        "paper": [_verdict_cell(r.get("expected"), number) for r in rows],
        "ours": [_verdict_cell(r.get("measured"), number) for r in rows],
        "unit": [str(r.get("unit", "")) for r in rows],
        "tolerance": [str(r.get("tolerance", "")) for r in rows],
        "verdict": [status(r) for r in rows],
        "note": [str(r.get("note", "")) for r in rows],
    })


# -- Papers ------------------------------------------------------------------------------------------
def papers_view(df, filter_pairs) -> None:
    st.header("Paper reproductions")
    st.caption("`slimbench reproduce --paper NAME` re-runs a paper's experiment on its track and compares the "
               "paper's numbers with ours (reproductions/*.json cards).")
    papers = data.paper_rows(df)
    if papers.empty:
        st.info("No paper reproductions in these stores yet (`slimbench reproduce --list-papers`).")
        return
    for paper, group in papers.groupby("paper", sort=True):
        latest = group.iloc[0]
        passed = _flag(latest["verdict_passed"])
        verdict = "✓ reproduced" if passed is True else "✗ not reproduced" if passed is False else "? no verdict"
        st.subheader(plain(latest["paper_title"] or paper))
        st.caption(f"{plain(paper)} · latest run {plain(latest['date'])} on {plain(latest['hardware'])} · "
                   f"{verdict} · {len(group)} run{'s' if len(group) != 1 else ''}")
        payload = json.loads(latest["paper_rows"] or "{}")
        if payload.get("rows"):
            st.dataframe(paper_table(payload["rows"]), hide_index=True, width="stretch", key=f"paper_{paper}")
        runs = group[["date", "method", "target", "hardware", "commit", "verdict_passed", "id"]].copy()
        runs["link"] = [entry_link(i, filter_pairs) for i in runs["id"]]
        with st.expander(f"every run of {paper}"):
            st.dataframe(runs.drop(columns=["id"]), hide_index=True, width="stretch",
                         column_config={"link": st.column_config.LinkColumn("entry", display_text="open")})


# -- Compare -----------------------------------------------------------------------------------------
COMPARE_FIELDS = [
    ("track", "track"), ("target", "target"), ("method", "method"), ("kind", "kind"), ("family", "family"),
    ("framework", "framework"), ("params", "params_text"), ("precision", "precision"),
    ("sparsity", "sparsity_kind"), ("seed", "seed"), ("status", "status"),
    ("accuracy %", "accuracy_pct"), ("Δ vs fp32 (pp)", "delta_pp"), ("speedup ×", "speedup"),
    ("speedup 95% CI", "speedup_ci"),
    ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("offline samples/s", "throughput"),
    ("b64 speedup ×", "throughput_speedup"), ("size KB", "size_kb"), ("gzip KB", "gzip_kb"),
    ("compression ×", "compression_ratio"), ("parameters", "params_count"), ("nonzero params", "nonzero_params"),
    ("peak MB", "peak_mem_mb"), ("hardware", "hardware"), ("ISA class", "isa_class"),
    ("runtime", "runtime"), ("submitter", "submitter"),
    ("passing reproductions", "reproductions"), ("failed reproductions", "failed_reproductions"),
    ("date", "date"), ("commit", "commit"), ("command", "command"), ("error", "error_message"),
]
RATIO_FIELDS = {"accuracy_pct", "speedup", "p50_ms", "p99_ms", "throughput", "throughput_speedup", "size_kb",
                "gzip_kb", "compression_ratio", "params_count", "nonzero_params", "peak_mem_mb"}


def compare_table(rows, chosen: list[str]):
    """Fields x entries (numbers formatted), a `differs` flag per field, and each entry's ratio to the first."""
    import pandas as pd

    names = {}
    for i in chosen:
        label = f"{rows.loc[i, 'method']} · {rows.loc[i, 'target']} · {i[:8]}"
        names[i] = label
    def cell(i, column):
        if column in ("accuracy_pct", "delta_pp") and rows.loc[i, "track_kind"] == "speed":
            return NO_ACCURACY
        return _cell(rows.loc[i, column])
    table = pd.DataFrame({names[i]: [cell(i, column) for _, column in COMPARE_FIELDS] for i in chosen},
                         index=[name for name, _ in COMPARE_FIELDS])
    table.insert(0, "differs", [len(set(table.loc[name])) > 1 for name, _ in COMPARE_FIELDS])
    first = chosen[0]
    for i in chosen[1:]:
        ratios = []
        for _, column in COMPARE_FIELDS:
            a, b = rows.loc[first, column], rows.loc[i, column]
            ok = column in RATIO_FIELDS and _is_number(a) and _is_number(b) and a
            ratios.append(f"{b / a:.2f}×" if ok else "")
        table[f"{i[:8]} ÷ {first[:8]}"] = ratios
    return table


def _flag(value) -> bool | None:
    """True / False / None from a nullable boolean cell (numpy / pandas booleans, <NA>)."""
    try:
        if value is None or value != value:
            return None
    except TypeError:  # pandas.NA
        return None
    return bool(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def compare_view(df, filters: data.Filters, filter_pairs) -> None:
    st.header("Compare")
    if df.empty:
        st.info("No records.")
        return
    chosen_before = list(st.session_state.get("compare_ids") or [])
    ids = _picker_ids(df, filters, chosen_before)
    by_id = df.set_index("id", drop=False)
    st.session_state["compare_ids"] = [i for i in chosen_before if i in set(ids)]
    chosen = st.multiselect("Entries (two or more; the filtered board's rows)", ids,
                            format_func=lambda i: entry_label(by_id.loc[i]), key="compare_ids",
                            placeholder="pick entries, or select rows on the Board and press Compare selected")
    _sync_url("Compare", filter_pairs)
    if len(chosen) < 2:
        st.info("Pick at least two entries to compare.")
        return
    table = compare_table(by_id, chosen)
    styled = table.style.apply(lambda r: ["background-color: #fff3cd" if r["differs"] else "" for _ in r], axis=1)
    st.dataframe(styled, width="stretch", height=min(35 * len(table) + 40, 1250), key="compare_table",
                 column_config={"differs": st.column_config.CheckboxColumn("differs", width="small")})
    st.caption("Highlighted: fields that differ. Ratio columns: each entry's value divided by the first entry's.")
    if by_id.loc[chosen, "hardware"].nunique() > 1:
        st.caption("Entries measured on different machines: compare speedups, not absolute latency.")
    if by_id.loc[chosen, "isa_class"].nunique() > 1:
        st.warning(f"Entries from {by_id.loc[chosen, 'isa_class'].nunique()} ISA classes: their speedup ratios are "
                   f"not comparable as equals. {ISA_NOTE.split('. ')[0]}.")


def _cell(value) -> str:
    if _is_number(value):
        return number(value)
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return str(value)


TIMING_ENV = "SLIMBENCH_LEADERBOARD_TIMING"  # a file: each script run appends "<view>\t<seconds>" (the benchmark)


def main() -> None:
    import os
    import time

    started = time.perf_counter()
    try:
        _main()
    finally:
        if os.environ.get(TIMING_ENV):
            with open(os.environ[TIMING_ENV], "a", encoding="utf-8") as log:
                log.write(f"{st.session_state.get('view', '?')}\t{time.perf_counter() - started:.4f}\n")


def _main() -> None:
    # no emoji page_icon: checking one imports streamlit.emojis, ~0.3 s of every fresh server process
    st.set_page_config(page_title="SlimBench leaderboard", layout="wide")
    try:
        sources, snapshot, df = load_everything()
    except data.RecordError as exc:  # the index is locked by a long `slimbench index` run, or unreadable
        st.error(plain(str(exc)))
        return
    view, filters, filter_pairs = sidebar(df, sources, snapshot)
    show_problems(snapshot)
    compact = bool(st.session_state.get("compact"))
    if view == "Board":
        board(df, filters, filter_pairs, compact)
    elif view == "All rows":
        flat_view(df, filters, filter_pairs, compact)
    elif view == "Speed tracks":
        speed_view(df, filters, filter_pairs, compact)
    elif view == "Pareto":
        pareto_view(df, filters)
    elif view == "Entry":
        entry_view(df, filters, filter_pairs)
    elif view == "Compare":
        compare_view(df, filters, filter_pairs)
    else:
        papers_view(df, filter_pairs)


if __name__ == "__main__":  # `streamlit run` and AppTest execute the script as __main__; a plain import
    main()                  # (the Makefile's `import leaderboard.app` check) renders nothing
