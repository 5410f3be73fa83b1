"""SlimBench leaderboard (Streamlit). Start it with `slimbench leaderboard [--store DIR] [--port P]`, or

    streamlit run leaderboard/app.py -- [--store DIR ...] [--published DIR | --no-published]

Stores can also come from the environment: SLIMBENCH_LEADERBOARD_STORES (os.pathsep-separated local
stores, default ./results) and SLIMBENCH_LEADERBOARD_PUBLISHED (default leaderboard/results; empty = none).
Views: Board, Pareto, Entry, Compare — selectable in the sidebar and linkable (?view=entry&id=...)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:  # `streamlit run leaderboard/app.py` puts only leaderboard/ on the path
    sys.path.insert(0, str(_REPO))

import streamlit as st  # noqa: E402

from leaderboard import data  # noqa: E402
from leaderboard import pareto  # noqa: E402

VIEWS = ["Board", "Pareto", "Entry", "Compare"]
MAX_WARNINGS = 20


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", action="append", default=None)
    parser.add_argument("--published", default=None)
    parser.add_argument("--no-published", action="store_true")
    args, _ = parser.parse_known_args(argv)  # under AppTest/pytest argv is pytest's: ignore the rest
    return args


@st.cache_data(show_spinner=False, max_entries=4)
def _load_cached(roots: tuple[tuple[str, str], ...], signature: tuple):
    loaded = data.load([data.Source(label, Path(root)) for label, root in roots])
    return loaded, data.frame(loaded)


def load_everything():
    args = parse_args(sys.argv[1:])
    sources = data.resolve_sources(args.store, args.published, args.no_published)
    roots = tuple((s.label, str(s.root)) for s in sources)
    loaded, df = _load_cached(roots, data.store_signature(sources))
    return sources, loaded, df


# -- small helpers ---------------------------------------------------------------------------------
def _fmt(value, spec: str, suffix: str = "", missing: str = "–") -> str:
    try:
        if value is None or value != value:  # None or NaN
            return missing
    except TypeError:
        return missing
    return format(value, spec) + suffix


def entry_label(row) -> str:
    return f"{row['track']} · {row['target']} · {row['method']} · {row['date'][:10]} · {row['id']}"


def find_record(loaded: data.Loaded, record_id: str) -> dict | None:
    return next((r for r in loaded.records if r["id"] == record_id), None)


def show_problems(loaded: data.Loaded) -> None:
    for problem in loaded.problems[:MAX_WARNINGS]:
        st.warning(f"Skipped malformed record **{problem.path.name}** ({problem.path}): {problem.message}", icon="⚠️")
    if len(loaded.problems) > MAX_WARNINGS:
        st.warning(f"… and {len(loaded.problems) - MAX_WARNINGS} more malformed record(s) skipped.", icon="⚠️")


def sidebar(df, sources, loaded) -> tuple[str, data.Filters]:
    params = st.query_params
    wanted = params.get("view", "Board").capitalize()
    st.sidebar.title("SlimBench")
    view = st.sidebar.radio("View", VIEWS, index=VIEWS.index(wanted) if wanted in VIEWS else 0, key="view")
    if params.get("view") != view.lower():
        params["view"] = view.lower()
    st.sidebar.header("Filters")

    def choose(label: str, column: str, help_text: str | None = None):
        options = sorted(x for x in df[column].dropna().unique() if x != "") if not df.empty else []
        picked = st.sidebar.multiselect(label, options, default=[], placeholder="all", help=help_text,
                                        key=f"filter_{column}")
        return picked or None

    filters = data.Filters(
        tracks=choose("Track", "track"), targets=choose("Target", "target"), families=choose("Family", "family"),
        frameworks=choose("Framework", "framework"),
        hardware=choose("Hardware", "hardware", "provenance.cpu.model (+ GPU) of the machine that measured it"))
    percent = st.sidebar.slider("Minimum accuracy relative to fp32 (%)", 0.0, 100.0,
                                data.DEFAULT_MIN_RELATIVE_ACCURACY * 100, 0.5, key="min_rel_acc",
                                help="accuracy / fp32 accuracy measured in the same session; the default 99% "
                                     "follows MLPerf's closed division")
    filters.min_relative_accuracy = percent / 100
    filters.latest_only = st.sidebar.checkbox("Latest run per configuration and machine", value=True,
                                              key="latest_only")
    filters.current_reference_only = st.sidebar.checkbox(
        "Only runs on the current reference checkpoint", value=True, key="current_reference_only",
        help="Hide records measured against a reference model that has since been retrained (other sha256)")
    with st.sidebar.expander("Record stores"):
        for source in sources:
            st.markdown(f"**{source.label}**: `{source.root}` — {loaded.counts.get(str(source.root), 0)} valid")
        if not sources:
            st.markdown("(none configured)")
    return view, filters


# -- Board -------------------------------------------------------------------------------------------
BOARD_COLUMNS = {
    "method": st.column_config.TextColumn("method"),
    "params_text": st.column_config.TextColumn("params", help="the method's configuration (--param k=v)"),
    "badge": st.column_config.TextColumn("reproduced", help="a reproduction record (slimbench reproduce) matches "
                                         "this track / method / target / params"),
    "family": st.column_config.TextColumn("family"),
    "framework": st.column_config.TextColumn("framework"),
    "accuracy_pct": st.column_config.NumberColumn("accuracy %", format="%.2f"),
    "delta_pp": st.column_config.NumberColumn("Δ vs fp32 (pp)", format="%+.2f"),
    "speedup": st.column_config.NumberColumn("speedup ×", format="%.2f",
                                             help="fp32 p50 / method p50 at batch 1, interleaved in one session"),
    "p50_ms": st.column_config.NumberColumn("p50 ms", format="%.4f", help="absolute, batch 1: see hardware"),
    "hardware": st.column_config.TextColumn("hardware", help="the CPU (and GPU) the latency was measured on"),
    "throughput": st.column_config.NumberColumn("offline samples/s", format="%.0f", help="batch 64"),
    "throughput_speedup": st.column_config.NumberColumn("offline speedup ×", format="%.2f"),
    "size_kb": st.column_config.NumberColumn("size KB", format="%.1f"),
    "compression_ratio": st.column_config.NumberColumn("compression ×", format="%.2f"),
    "gzip_compression_ratio": st.column_config.NumberColumn("gzip compression ×", format="%.2f"),
    "peak_mem_mb": st.column_config.NumberColumn("peak MB", format="%.1f", help="net peak RSS at batch 64"),
    "date": st.column_config.TextColumn("date (UTC)"),
    "link": st.column_config.LinkColumn("entry", display_text=r"id=([0-9a-f]+)"),
}


def badge(passed: int, failed: int) -> str:
    if passed:
        return "✓ reproduced"
    return "✗ reproduction failed" if failed else ""


def board(df, loaded, filters: data.Filters) -> None:
    st.header("Board")
    st.caption("Ranked by **speedup** (a ratio against fp32 measured in the same session, so it compares across "
               "machines); absolute latency is shown with the hardware it came from. Click a column to re-sort.")
    rows, hidden = data.board_rows(df, filters)
    if hidden:
        st.caption(f"{hidden} entr{'y' if hidden == 1 else 'ies'} below "
                   f"{filters.min_relative_accuracy * 100:g}% of fp32 accuracy hidden (lower the threshold to see).")
    if rows.empty:
        st.info("No entries match the filters." if not df.empty else
                "No records yet. Run `slimbench run --suite default` (writes ./results), or publish records "
                "with `slimbench publish --from DIR`.")
    for (track, target), group in rows.groupby(["track", "target"], sort=True):
        st.subheader(f"{track} · {target}")
        runtimes = ", ".join(sorted(set(group["runtime"]) - {""}))
        st.caption(f"runtime: {runtimes or 'unknown'} · {len(group)} entr{'y' if len(group) == 1 else 'ies'}")
        table = group.sort_values(["speedup", "accuracy_pct"], ascending=False, na_position="last").copy()
        table["badge"] = [badge(ok, bad) for ok, bad in zip(table["reproductions"], table["failed_reproductions"])]
        table["link"] = [f"?view=entry&id={i}" for i in table["id"]]
        table["date"] = table["date"].str.replace("T", " ").str.rstrip("Z")
        st.dataframe(table[list(BOARD_COLUMNS)], column_config=BOARD_COLUMNS, hide_index=True,
                     width="stretch", key=f"board_{track}_{target}")
    failed = data.failed_rows(df, filters)
    if not failed.empty:
        with st.expander(f"Failed runs ({len(failed)}) — not ranked"):
            st.dataframe(failed[["track", "target", "method", "error_phase", "error_type", "error_message", "date",
                                 "id"]], hide_index=True, width="stretch")


# -- Pareto ------------------------------------------------------------------------------------------
def pareto_view(df, filters: data.Filters) -> None:
    st.header("Pareto")
    rows, _ = data.board_rows(df, filters)
    if rows.empty:
        st.info("No entries match the filters.")
        return
    combos = sorted(set(zip(rows["track"], rows["target"])))
    left, middle, right = st.columns([2, 2, 1])
    track, target = left.selectbox("Track · target", combos, format_func=lambda c: f"{c[0]} · {c[1]}",
                                   key="pareto_combo")
    metric = middle.radio("Accuracy vs", list(pareto.X_METRICS), horizontal=True, key="pareto_metric")
    log_x = right.checkbox("log x axis", value=pareto.X_METRICS[metric][2], key=f"pareto_log_{metric}")
    part = rows[(rows["track"] == track) & (rows["target"] == target)]
    if metric == "latency" and part["hardware"].nunique() > 1:
        st.warning(f"Absolute latency from {part['hardware'].nunique()} different machines is plotted together; "
                   "filter one hardware, or use 'relative latency' (same-session ratio).")
    fig, plotted = pareto.figure(part, metric, log_x, title=f"{track} · {target}: accuracy vs {metric}")
    if plotted.empty:
        st.info(f"No entry here has a {metric} measurement (memory needs runs without --no-memory).")
        return
    st.plotly_chart(fig, width="stretch", key="pareto_chart")
    front = plotted[plotted["on_front"]]
    st.caption("Pareto front (no other entry is both cheaper and at least as accurate): "
               + ", ".join(f"**{m}**" for m in front["method"]))


# -- Entry -------------------------------------------------------------------------------------------
def entry_view(df, loaded) -> None:
    st.header("Entry")
    if df.empty:
        st.info("No records.")
        return
    ordered = df.sort_values(["track", "target", "method", "date"])
    ids = ordered["id"].tolist()
    labels = {r["id"]: entry_label(r) for _, r in ordered.iterrows()}
    wanted = st.query_params.get("id")
    record_id = st.selectbox("Record", ids, index=ids.index(wanted) if wanted in ids else 0,
                             format_func=lambda i: labels[i], key="entry_id")
    if st.query_params.get("id") != record_id:
        st.query_params["id"] = record_id
    record = find_record(loaded, record_id)
    row = df[df["id"] == record_id].iloc[0]
    cfg, res, prov = record["config"], record.get("results") or {}, record.get("provenance") or {}
    st.subheader(f"{row['method']} on {cfg['track']} · {cfg['target']}")
    tags = [f"family **{row['family']}**", f"framework **{row['framework']}**", f"status **{record['status']}**",
            f"kind **{record.get('kind', 'run')}**", f"source **{row['source']}**", f"created {record['created_utc']}"]
    if row["reproductions"] or row["failed_reproductions"]:
        tags.append(f"{badge(row['reproductions'], row['failed_reproductions'])} "
                    f"({row['reproductions']} passing, {row['failed_reproductions']} failing reproduction record(s))")
    st.markdown(" · ".join(tags))
    if record["status"] == "failed":
        err = record.get("error") or {}
        st.error(f"Failed in phase `{err.get('phase')}`: {err.get('type')}: {err.get('message')}")
        if err.get("traceback"):
            with st.expander("traceback"):
                st.code(err["traceback"], language="text")
    else:
        cols = st.columns(5)
        cols[0].metric("accuracy", _fmt(row["accuracy_pct"], ".2f", "%"), _fmt(row["delta_pp"], "+.2f", " pp"))
        cols[1].metric("speedup (batch 1)", _fmt(row["speedup"], ".2f", "×"))
        cols[2].metric("p50 latency", _fmt(row["p50_ms"], ".4f", " ms"), help=f"on {row['hardware']}")
        cols[3].metric("artifact size", _fmt(row["size_kb"], ".1f", " KB"),
                       _fmt(row["compression_ratio"], ".2f", "× smaller"), delta_color="off")
        cols[4].metric("peak memory", _fmt(row["peak_mem_mb"], ".1f", " MB"))
        st.caption(f"offline batch {_fmt(row['throughput_batch'], '.0f')}: {_fmt(row['throughput'], ',.0f')} "
                   f"samples/s ({_fmt(row['throughput_speedup'], '.2f', '×')} fp32) · measured on {row['hardware']}, "
                   f"{row['runtime']}")
        for note in res.get("notes") or []:
            st.info(note)
    st.markdown("**Reproduce this entry**")
    st.code(cfg.get("command") or "(no command recorded)", language="bash")
    if ".py:" in cfg["method"]:
        st.caption(f"submitted method file, sha256 `{cfg.get('method_source_sha256')}`")
    st.download_button("Download record JSON", json.dumps(record, indent=2, sort_keys=True) + "\n",
                       file_name=f"{record_id}.json", mime="application/json", key="download_record")
    left, right = st.columns(2)
    with left:
        st.markdown("**Configuration**")
        st.json(cfg, expanded=True)
        st.markdown("**Results**")
        st.json(res, expanded=1)
    with right:
        st.markdown("**Provenance**")
        st.json(prov, expanded=1)
        st.markdown("**Artifact**")
        st.json(record.get("artifact") or {}, expanded=True)
        verdict = record.get("verdict")
        if verdict is not None:
            st.markdown("**Verdict**")
            if isinstance(verdict, dict) and verdict.get("of"):
                st.markdown(f"reproduction of [{verdict['of']}](?view=entry&id={verdict['of']}): "
                            + ("passed" if data.verdict_passed(verdict) else "did not pass"))
            if isinstance(verdict, dict) and isinstance(verdict.get("checks"), list):
                import pandas as pd
                st.dataframe(pd.DataFrame(verdict["checks"]).astype(str), hide_index=True, width="stretch", key="verdict_checks")
            st.json(verdict, expanded=False)
    with st.expander("Every field of the record"):
        st.json(record, expanded=True)
        st.caption(f"file: {loaded.paths.get(record_id)}")


# -- Compare -----------------------------------------------------------------------------------------
COMPARE_FIELDS = [
    ("track", "track"), ("target", "target"), ("method", "method"), ("family", "family"),
    ("framework", "framework"), ("params", "params_text"), ("seed", "seed"), ("status", "status"),
    ("accuracy %", "accuracy_pct"), ("Δ vs fp32 (pp)", "delta_pp"), ("speedup ×", "speedup"),
    ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("offline samples/s", "throughput"),
    ("offline speedup ×", "throughput_speedup"), ("size KB", "size_kb"), ("gzip KB", "gzip_kb"),
    ("compression ×", "compression_ratio"), ("parameters", "params_count"), ("nonzero params", "nonzero_params"),
    ("peak MB", "peak_mem_mb"), ("hardware", "hardware"), ("runtime", "runtime"),
    ("passing reproductions", "reproductions"), ("failed reproductions", "failed_reproductions"),
    ("date", "date"), ("commit", "commit"), ("command", "command"), ("error", "error_message"),
]


def compare_view(df) -> None:
    import pandas as pd

    st.header("Compare")
    if df.empty:
        st.info("No records.")
        return
    ordered = df.sort_values(["track", "target", "speedup"], ascending=[True, True, False])
    ids = ordered["id"].tolist()
    labels = {r["id"]: entry_label(r) for _, r in ordered.iterrows()}
    wanted = [i for i in st.query_params.get_all("ids") if i in ids] or ids[:2]
    chosen = st.multiselect("Entries (two or more)", ids, default=wanted, format_func=lambda i: labels[i],
                            key="compare_ids")
    if st.query_params.get_all("ids") != chosen:
        st.query_params["ids"] = chosen  # linkable: ?view=compare&ids=A&ids=B
    if len(chosen) < 2:
        st.info("Pick at least two entries to compare.")
        return
    rows = df.set_index("id").loc[chosen]
    table = pd.DataFrame({f"{rows.loc[i, 'method']} · {rows.loc[i, 'target']} · {i[:8]}":
                          [_cell(rows.loc[i, column]) for _, column in COMPARE_FIELDS] for i in chosen},
                         index=[name for name, _ in COMPARE_FIELDS])
    st.dataframe(table, width="stretch", height=min(38 * len(table) + 40, 1100), key="compare_table")
    if rows["hardware"].nunique() > 1:
        st.caption("Entries measured on different machines: compare speedups, not absolute latency.")


def _cell(value) -> str:
    if isinstance(value, float):
        return _fmt(value, ".4g")
    if value is None:
        return "–"
    return str(value)


def main() -> None:
    st.set_page_config(page_title="SlimBench leaderboard", page_icon="📉", layout="wide")
    sources, loaded, df = load_everything()
    view, filters = sidebar(df, sources, loaded)
    show_problems(loaded)
    if view == "Board":
        board(df, loaded, filters)
    elif view == "Pareto":
        pareto_view(df, filters)
    elif view == "Entry":
        entry_view(df, loaded)
    else:
        compare_view(df)


if __name__ == "__main__":  # `streamlit run` and AppTest execute the script as __main__; a plain import
    main()                  # (the Makefile's `import leaderboard.app` check) renders nothing
