"""The Streamlit app rendered headlessly with streamlit.testing.v1.AppTest, over real harness records
(tests/leaderboard/make_records.py: digits-mlp, quick latency loops)."""
from __future__ import annotations

import json
import re
import shutil
from urllib.parse import parse_qs, urlparse

import pytest

from leaderboard.data import DEFAULT_MIN_RELATIVE_ACCURACY


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _unescape(text: str) -> str:
    """What a reader sees: backslash escapes resolved, the zero-width spaces that break autolinks dropped."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def _board_tables(at) -> dict:
    """{subheader: ranked table}: the board's tables are the ones with an entry link column."""
    tables = [df.value for df in at.dataframe if "link" in df.value.columns]
    headers = [_unescape(h) for h in _texts(at.subheader)]
    assert len(headers) == len(tables)
    return dict(zip(headers, tables))


def _runs(records, method: str, target: str, kind: str = "run") -> list[dict]:
    return [r for r in records if r["config"]["method"] == method and r["config"]["target"] == target
            and r["kind"] == kind]


def _expected_ranked(records, target: str, threshold: float = DEFAULT_MIN_RELATIVE_ACCURACY) -> set[str]:
    return {r["id"] for r in records if r["config"]["target"] == target and r["status"] == "ok"
            and r["kind"] == "run" and r["results"]["accuracy"] / r["results"]["accuracy_fp32"] >= threshold}


def _query(at, key: str) -> list[str]:
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def _link_id(link: str) -> str:
    return parse_qs(urlparse(link).query)["id"][0]


def _ids(table) -> set[str]:
    return {_link_id(link) for link in table["link"]}


def test_board_renders_published_records(app, record_store, records):
    at = app(published=record_store)
    assert not at.exception, _texts(at.exception)
    assert not at.warning and not at.expander[0].label.startswith("⚠️")
    tables = _board_tables(at)
    assert list(tables) == ["digits-mlp · cpu", "digits-mlp · edge"]
    cpu, edge = tables.values()
    assert _ids(cpu) == _expected_ranked(records, "cpu") and _ids(edge) == _expected_ranked(records, "edge")
    assert {"fp32", "torch-magnitude", "ort-int8-dynamic"} <= set(cpu["method"])
    assert set(edge["method"]) == {"fp32", "torch-magnitude", "tflite-dynamic-range"}
    # the columns that decide, in order: method first, speedup within the first five, hardware/date/link last
    columns = list(cpu.columns)
    assert columns[0] == "method" and columns[-3:] == ["hardware", "date", "link"]
    assert columns.index("speedup") <= 4 and columns.index("params_shown") == 1
    assert {"precision", "sparsity_kind", "throughput_speedup", "gzip_compression_ratio", "peak_mem_mb"} <= set(columns)
    # speedup (a same-session ratio) is the default sort key
    assert list(cpu["speedup"]) == sorted(cpu["speedup"], reverse=True)
    # the numbers shown are the records' numbers
    (int8,) = _runs(records, "ort-int8-dynamic", "cpu")
    row = cpu[cpu["method"] == "ort-int8-dynamic"].iloc[0]
    res = int8["results"]
    assert row["accuracy_pct"] == pytest.approx(res["accuracy"] * 100)
    assert row["delta_pp"] == pytest.approx(res["accuracy_delta_pp"])
    assert row["p50_ms"] == pytest.approx(res["latency_single_stream"]["p50_ms"])
    assert row["speedup"] == pytest.approx(res["speedup_single_stream"])
    assert row["throughput_speedup"] == pytest.approx(res["speedup_offline"])
    assert row["size_kb"] == pytest.approx(res["size"]["artifact_bytes"] / 1024)
    assert row["gzip_compression_ratio"] == pytest.approx(res["size"]["gzip_compression_ratio"])
    assert row["peak_mem_mb"] == pytest.approx(res["memory"]["net_peak_rss_bytes"] / 2**20)
    assert row["hardware"].startswith(int8["provenance"]["cpu"]["model"])
    assert row["date"].replace(" ", "T") + "Z" == int8["created_utc"]
    # precision and sparsity kind come from what each method reported
    info = res["method_info"]
    assert row["precision"] == f"W{info['weight_bits']}A{info['activation_bits']}" == "W8A8"
    precisions = dict(zip(cpu["method"], cpu["precision"]))
    assert precisions["fp32"] == "FP32" and precisions["torch-magnitude"] == "FP32"
    sparsity = dict(zip(cpu["method"], cpu["sparsity_kind"]))
    assert sparsity["torch-magnitude"] == "unstructured" and sparsity["fp32"] == "none"
    assert dict(zip(edge["method"], edge["precision"]))["tflite-dynamic-range"] == "W8A32"
    # only non-default parameters are shown (torch-magnitude sparsity=0.5 differs from the default 0.9)
    assert dict(zip(cpu["method"], cpu["params_shown"]))["torch-magnitude"] == "sparsity=0.5"
    assert dict(zip(cpu["method"], cpu["params_shown"]))["fp32"] == ""
    # the `slimbench reproduce` record confers the badge (an icon; its header has the tooltip) on fp32/cpu only
    badges = dict(zip(cpu["method"], cpu["badge"]))
    assert badges["fp32"] == "✓" and badges["ort-int8-dynamic"] == ""
    assert set(edge["badge"]) == {""}
    (reproduction,) = _runs(records, "fp32", "cpu", kind="reproduction")
    assert reproduction["verdict"]["passed"] is True
    assert reproduction["id"] not in _ids(cpu)
    # the failed run is listed apart with its error, never ranked: in a collapsed expander, drawn when opened
    assert any(e.label.startswith("Failed runs (1)") for e in at.expander)
    assert not [df for df in at.dataframe if "error_type" in df.value.columns]
    at.session_state["open_failed"] = True
    at.run()
    failed = [df.value for df in at.dataframe if "error_type" in df.value.columns]
    assert len(failed) == 1 and list(failed[0]["error_type"]) == ["ConfigError"]
    assert "sparsity=1.5" in failed[0]["error_message"].iloc[0]
    assert failed[0]["id"].iloc[0] not in _ids(cpu)
    assert any(e.label.startswith("Failed runs (1)") for e in at.expander)
    # the one-shot 80% pruned model is below 99% of fp32: hidden by default, and the page says so
    hidden = [r for r in records if r["status"] == "ok" and r["kind"] == "run"
              and r["results"]["accuracy"] / r["results"]["accuracy_fp32"] < DEFAULT_MIN_RELATIVE_ACCURACY]
    assert [r["config"]["method_params"]["schedule"] for r in hidden] == ["oneshot"]
    assert any(c.startswith("1 entry below 99% of fp32 accuracy hidden") for c in _texts(at.caption))


def test_flat_view_has_every_filtered_row_with_track_and_target(app, record_store, records):
    at = app(published=record_store, view="rows")
    assert not at.exception, _texts(at.exception)
    (table,) = [df.value for df in at.dataframe if "link" in df.value.columns]
    assert list(table.columns[:3]) == ["track", "target", "method"]
    assert _ids(table) == _expected_ranked(records, "cpu") | _expected_ranked(records, "edge")
    assert list(table["speedup"]) == sorted(table["speedup"], reverse=True)
    assert [b.label for b in at.get("download_button")] == ["Download filtered (CSV)", "Download filtered (JSON)"]


def test_compact_columns_for_phones(app, record_store):
    at = app(published=record_store, cols="compact")
    for table in _board_tables(at).values():
        assert list(table.columns) == ["method", "delta_pp", "speedup", "link"]


def test_empty_store(app, tmp_path):
    at = app(published=tmp_path / "no-such-published-dir", stores=[tmp_path / "empty"])
    assert not at.exception, _texts(at.exception)
    assert not at.dataframe and not at.warning
    assert any("No records yet" in text for text in _texts(at.info))
    for view in ("rows", "pareto", "entry", "compare", "papers"):
        other = app(published=None, stores=[tmp_path / "empty"], view=view)
        assert not other.exception, (view, _texts(other.exception))
        assert other.info, view


def test_malformed_records_collapse_into_one_expander_without_server_paths(app, record_store, records, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(record_store, store)
    (store / "corrupt.json").write_text('{"schema_version": 1, "id": ')  # deliberately broken JSON
    tampered = dict(records[0], created_utc="2000-01-01T00:00:00Z")  # valid JSON, no longer its content hash
    (store / "tampered.json").write_text(json.dumps(tampered))
    for n in range(30):  # many bad files never push the board off screen: still one collapsed expander
        (store / f"junk-{n:02d}.json").write_text("[]")
    at = app(published=store)
    assert not at.exception, _texts(at.exception)
    assert not at.warning  # no banner per file
    (problems,) = [e for e in at.expander if e.label.startswith("⚠️")]
    assert problems.label == "⚠️ 32 malformed record files skipped"
    (listing,) = [df.value for df in at.dataframe if "problem" in df.value.columns]
    assert set(listing["file"]) == {"corrupt.json", "tampered.json", *(f"junk-{n:02d}.json" for n in range(30))}
    messages = dict(zip(listing["file"], listing["problem"]))
    assert "not a readable JSON record" in messages["corrupt.json"] and "content hash" in messages["tampered.json"]
    page = json.dumps([str(e.proto) for e in at.main] + [str(e.proto) for e in at.sidebar])
    assert str(tmp_path) not in page and str(store) not in " ".join(listing["problem"])
    tables = _board_tables(at)  # the rest still renders, complete
    assert _ids(tables["digits-mlp · cpu"]) == _expected_ranked(records, "cpu")
    assert _ids(tables["digits-mlp · edge"]) == _expected_ranked(records, "edge")


def test_local_store_adds_to_published_and_dedupes(app, record_store, records, tmp_path):
    at = app(published=record_store, stores=[record_store, tmp_path / "missing"])
    assert not at.exception
    assert _ids(_board_tables(at)["digits-mlp · cpu"]) == _expected_ranked(records, "cpu")  # each record once


def test_filters(app, record_store, records):
    at = app(published=record_store)
    at.multiselect(key="filter_family").set_value(["quantization"]).run()
    assert [set(t["family"]) for t in _board_tables(at).values()] == [{"quantization"}, {"quantization"}]
    assert _query(at, "family") == ["quantization"]  # the URL keeps the view
    at.multiselect(key="filter_family").set_value([]).run()
    at.multiselect(key="filter_target").set_value(["edge"]).run()
    assert list(_board_tables(at)) == ["digits-mlp · edge"]
    at.multiselect(key="filter_target").set_value([]).run()
    at.multiselect(key="filter_framework").set_value(["onnxruntime"]).run()
    assert [set(t["method"]) for t in _board_tables(at).values()] == [{"ort-int8-dynamic"}]
    at.multiselect(key="filter_framework").set_value([]).run()
    at.multiselect(key="filter_precision").set_value(["W8A8"]).run()
    assert [set(t["precision"]) for t in _board_tables(at).values()] == [{"W8A8"}]
    at.multiselect(key="filter_precision").set_value([]).run()
    at.multiselect(key="filter_sparsity").set_value(["unstructured"]).run()
    assert {m for t in _board_tables(at).values() for m in t["method"]} == {"torch-magnitude"}
    at.multiselect(key="filter_sparsity").set_value([]).run()
    hardware = at.multiselect(key="filter_hardware").options
    assert len(hardware) == 1 and records[0]["provenance"]["cpu"]["model"] in hardware[0]
    # lowering the accuracy threshold to 0 shows the one-shot pruned model too
    at.slider(key="min_rel_acc").set_value(0.0).run()
    assert _ids(_board_tables(at)["digits-mlp · cpu"]) == _expected_ranked(records, "cpu", 0.0)
    assert len(_expected_ranked(records, "cpu", 0.0)) == len(_expected_ranked(records, "cpu")) + 1
    assert _query(at, "min_acc") == ["0"]


def test_filters_come_from_the_url_and_entry_links_keep_them(app, record_store, records):
    at = app(published=record_store, run=False)
    at.query_params["target"] = "edge"
    at.query_params["precision"] = ["W8A32", "FP32"]
    at.run()
    assert not at.exception, _texts(at.exception)
    assert at.multiselect(key="filter_target").value == ["edge"]
    (edge,) = _board_tables(at).values()
    assert set(edge["precision"]) == {"W8A32", "FP32"}
    for link in edge["link"]:
        query = parse_qs(urlparse(link).query)
        assert query["view"] == ["entry"] and query["target"] == ["edge"]
        assert sorted(query["precision"]) == ["FP32", "W8A32"]
    # following a link opens the entry with the same filters
    at = app(published=record_store, run=False)
    for key, values in parse_qs(urlparse(edge["link"].iloc[0]).query).items():
        at.query_params[key] = values
    at.run()
    assert not at.exception, _texts(at.exception)
    assert at.selectbox(key="entry_id").value == _link_id(edge["link"].iloc[0])
    assert at.multiselect(key="filter_target").value == ["edge"]


def test_pareto_view(app, record_store):
    from leaderboard import pareto

    at = app(published=record_store, view="pareto")
    assert not at.exception, _texts(at.exception)
    for metric in pareto.X_METRICS:
        at.radio(key="pareto_metric").set_value(metric).run()
        assert not at.exception, (metric, _texts(at.exception))
        charts = at.get("plotly_chart")
        assert len(charts) == 1, metric
        spec = json.loads(charts[0].proto.spec)
        assert {"baseline", "pruning", "quantization"} <= {t["name"] for t in spec["data"]}  # digits-mlp · cpu
        assert spec["layout"]["xaxis"]["type"] == "log"
        assert all(t["marker"]["color"] == pareto.FAMILY_COLORS[t["name"]] for t in spec["data"]
                   if t["name"] in pareto.FAMILY_COLORS)
        front = next(c for c in _texts(at.caption) if c.startswith("Pareto front"))
        assert "**" in front, metric  # at least one entry is on the front
    at.selectbox(key="pareto_combo").set_value(("digits-mlp", "edge")).run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {"baseline", "pruning", "quantization"} <= {t["name"] for t in spec["data"]}


def test_entry_view_lists_reproductions(app, record_store, records):
    (fp32,) = _runs(records, "fp32", "cpu")
    (reproduction,) = _runs(records, "fp32", "cpu", kind="reproduction")
    at = app(published=record_store, view="entry", id=fp32["id"])
    assert not at.exception, _texts(at.exception)
    assert _unescape(_texts(at.subheader)[0]) == "fp32 on digits-mlp · cpu"
    assert fp32["config"]["command"] in _texts(at.code)
    assert fp32["config"]["command"].startswith("slimbench run --track digits-mlp --method fp32 --target cpu")
    assert any(m.startswith("**Reproductions** — 1 passing, 0 failing") for m in _texts(at.markdown))
    (table,) = [df.value for df in at.dataframe if "reproduced by" in df.value.columns]
    assert len(table) == 1
    got = table.iloc[0]
    assert got["verdict"] == "✓ passed"
    assert got["date (UTC)"].replace(" ", "T") + "Z" == reproduction["created_utc"]
    assert got["machine"].startswith(reproduction["provenance"]["cpu"]["model"])
    assert got["commit"] == reproduction["provenance"]["code"]["commit"][:10]
    assert _link_id(got["record"]) == reproduction["id"]
    assert len(at.get("download_button")) == 1
    assert fp32 in [json.loads(j.proto.body) for j in at.json]  # every field, read from the record's file
    assert fp32["provenance"] in [json.loads(j.proto.body) for j in at.json]
    failed = next(r for r in records if r["status"] == "failed")
    at = app(published=record_store, view="entry", id=failed["id"])
    assert any("sparsity=1.5" in _unescape(e) for e in _texts(at.error))
    at = app(published=record_store, view="entry", id=reproduction["id"])
    assert not at.exception, _texts(at.exception)
    assert any(f"reproduction of [{fp32['id']}]" in m and "passed" in m for m in _texts(at.markdown))


def test_papers_view_shows_the_papers_numbers_beside_ours(app):
    from suite.paths import PUBLISHED_RESULTS
    from suite.records.store import RecordStore

    papers = {}
    for record in RecordStore(PUBLISHED_RESULTS).records():
        verdict = record.get("verdict") or {}
        if verdict.get("paper") and (verdict["paper"] not in papers
                                     or record["created_utc"] > papers[verdict["paper"]]["created_utc"]):
            papers[verdict["paper"]] = record
    assert papers, "the published results hold paper reproductions"
    at = app(published=PUBLISHED_RESULTS, view="papers")
    assert not at.exception, _texts(at.exception)
    tables = [df.value for df in at.dataframe if "quantity" in df.value.columns]
    assert len(tables) == len(papers)
    captions = [_unescape(c) for c in _texts(at.caption) if " · latest run " in _unescape(c)]
    for caption, (name, record) in zip(captions, sorted(papers.items())):
        expected = "✓ reproduced" if record["verdict"]["passed"] is True else "✗ not reproduced"
        assert caption.startswith(name) and expected in caption, caption
    for table, (_, record) in zip(tables, sorted(papers.items())):
        rows = record["verdict"]["rows"]
        assert list(table["quantity"]) == [r["quantity"] for r in rows]
        for column, key in (("paper", "expected"), ("ours", "measured")):
            for shown, row in zip(table[column], rows):
                if row[key] is None:  # a context row (e.g. our fp32 reference beside a paper's floor)
                    assert shown == "—"
                else:
                    assert float(shown.replace(",", "")) == pytest.approx(row[key], rel=1e-3, abs=1e-3)


def test_compare_starts_empty_respects_filters_and_shows_differences(app, record_store, records):
    (a,), (b,) = _runs(records, "fp32", "edge"), _runs(records, "tflite-dynamic-range", "edge")
    at = app(published=record_store, view="compare")
    assert not at.exception, _texts(at.exception)
    picker = at.multiselect(key="compare_ids")
    assert picker.value == []  # starts empty
    assert set(picker.options) >= {at_label for at_label in picker.options if "tflite-dynamic-range" in at_label}
    at.multiselect(key="filter_target").set_value(["edge"]).run()
    options = at.multiselect(key="compare_ids").options
    assert all(" · edge · " in o for o in options)  # respects the filters
    assert any("torch-magnitude (sparsity=0.5)" in o for o in options)  # labels carry the params
    at = app(published=record_store, view="compare", run=False)
    at.query_params["ids"] = [a["id"], b["id"]]
    at.run()
    assert not at.exception, _texts(at.exception)
    table = at.dataframe[0].value
    entries = [c for c in table.columns if c != "differs" and "÷" not in c]
    assert len(entries) == 2
    assert list(table.loc["method", entries]) == ["fp32", "tflite-dynamic-range"]
    assert list(table.loc["target", entries]) == ["edge", "edge"]
    assert bool(table.loc["method", "differs"]) and not bool(table.loc["target", "differs"])
    (ratio,) = [c for c in table.columns if "÷" in c]
    size_a, size_b = (r["results"]["size"]["artifact_bytes"] / 1024 for r in (a, b))
    assert table.loc["size KB", ratio] == f"{size_b / size_a:.2f}×"
    assert table.loc["size KB", entries[0]] == f"{size_a:,.2f}"
    assert not any(re.search(r"\d[eE][+-]\d", str(v)) for v in table[entries].values.ravel())  # no 2.973e+04
    throughput = a["results"]["throughput_offline"]["samples_per_s"]
    assert table.loc["offline samples/s", entries[0]] == f"{throughput:,.0f}"


def test_compare_selected_rows(app, record_store, records):
    """Rows selected on the board go to Compare (the click itself is exercised in the browser test)."""
    at = app(published=record_store)
    key = "board_digits-mlp_cpu"
    shown = at.session_state[f"{key}__ids"]
    assert at.button(key="compare_selected").disabled
    at.session_state[key] = {"selection": {"rows": [0, 1], "columns": [], "cells": []}}
    at.run()
    assert at.button(key="compare_selected").label == "Compare selected (2)"
    at.button(key="compare_selected").click().run()
    assert not at.exception, _texts(at.exception)
    assert at.radio(key="view").value == "Compare"
    assert at.multiselect(key="compare_ids").value == shown[:2]
    assert _query(at, "ids") == shown[:2]


def test_download_filtered_table(app, record_store, records):
    from leaderboard import data

    at = app(published=record_store, view="rows")
    at.multiselect(key="filter_target").set_value(["edge"]).run()
    assert len(at.get("download_button")) == 2
    df = data.frame(data.load([data.Source("published", record_store)]))
    rows, _ = data.board_rows(df, data.Filters(targets=["edge"]))
    csv_text = data.export_csv(rows, "http://board.example:8501/?view=rows")
    header = csv_text.splitlines()[0].split(",")
    assert header[:3] == ["track", "target", "method"] and "speedup batch 1 (x)" in header and "link" in header
    exported = json.loads(data.export_json(rows, "http://board.example:8501/?view=rows"))
    assert {r["record id"] for r in exported} == _expected_ranked(records, "edge")
    for item in exported:
        record = next(r for r in records if r["id"] == item["record id"])
        assert item["target"] == "edge" and item["track"] == "digits-mlp"
        assert item["link"] == f"http://board.example:8501/?view=entry&id={record['id']}"
        assert item["speedup batch 1 (x)"] == round(record["results"]["speedup_single_stream"], 2)
        assert item["accuracy (%)"] == round(record["results"]["accuracy"] * 100, 2)


def test_record_strings_render_as_plain_text(app, records, tmp_path):
    """Issue 13: a record's strings (method, params, submitter, notes, errors) never become links, images or
    markup on the board."""
    from suite.records.store import RecordStore

    evil = "[click](http://evil.example/x) ![img](http://evil.example/i.png) <img src=x onerror=alert(1)> <b>b</b>"
    (base,) = _runs(records, "ort-int8-dynamic", "cpu")
    record = json.loads(json.dumps(base))
    record["config"]["method"] = "evil " + evil
    record["config"]["method_family"] = "quantization <i>x</i>"
    record["config"]["method_params"] = {"note": evil}
    record["submitter"] = evil
    record["results"]["notes"] = [evil]
    failed = json.loads(json.dumps(next(r for r in records if r["status"] == "failed")))
    failed["config"]["method"] = "evil2 " + evil
    failed["error"]["message"] = evil
    store = RecordStore(tmp_path / "evil-store")
    evil_id = store.write({k: v for k, v in record.items() if k != "id"}).stem
    failed_id = store.write({k: v for k, v in failed.items() if k != "id"}).stem
    pages = [app(published=store.root, view=view) for view in ("board", "rows", "pareto", "compare")]
    pages.append(app(published=store.root, view="entry", id=evil_id))
    pages.append(app(published=store.root, view="entry", id=failed_id))
    unescaped = re.compile(r"(?<!\\)(\]\(|!\[|<img|<b>|<i>)")
    for at in pages:
        assert not at.exception, _texts(at.exception)
        markdown = [*_texts(at.markdown), *_texts(at.caption), *_texts(at.subheader), *_texts(at.info),
                    *_texts(at.error), *_texts(at.warning), *(m.proto.help for m in at.get("metric"))]
        assert not [m for m in markdown if unescaped.search(m)]
    entry = pages[-2]
    assert any("evil " in _unescape(s) and "[click](http://evil.example/x)" in _unescape(s)
               for s in _texts(entry.subheader))  # the name is there, as text
    assert any("submitted by" in m and "evil.example" in _unescape(m) for m in _texts(entry.markdown))
    assert any(_unescape(i) == evil for i in _texts(entry.info))  # the note, verbatim
    assert any(evil in _unescape(e) for e in _texts(pages[-1].error))
    spec = json.loads(pages[2].get("plotly_chart")[0].proto.spec)
    hover = json.dumps(spec["data"])
    assert "<img" not in hover and "&lt;img" in hover and "<i>x" not in hover


def test_serving_without_headless_never_stops_at_streamlits_email_prompt():
    """`make run` serves non-headless; on a fresh machine Streamlit would ask for an email on stdin first."""
    import argparse

    from suite.commands.leaderboard import streamlit_command

    args = argparse.Namespace(store=None, no_published=False, published=None, port=8501, address="127.0.0.1",
                              headless=False)
    command = streamlit_command(args)
    assert command[command.index("--server.headless") + 1] == "false"
    assert command[command.index("--server.showEmailPrompt") + 1] == "false"


# -- speed-only tracks (issue 14): random weights, `accuracy: null`; their own page, never ranked with the rest --
SPEED_REASON = "random weights: speed, memory and size only"


def _plotly_array(value) -> list[float]:
    """A plotly JSON array: a list, or a typed array ({"dtype": "f8", "bdata": base64})."""
    if isinstance(value, dict) and "bdata" in value:
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


@pytest.fixture
def speed_store(record_store, records, tmp_path):
    """The harness records plus speed-track copies of the ok cpu runs (schema-valid: written by the store)."""
    from suite.records.store import RecordStore

    store = tmp_path / "with-speed"
    shutil.copytree(record_store, store)
    speed = []
    for record in records:
        if record["kind"] != "run" or record["status"] != "ok" or record["config"]["target"] != "cpu":
            continue
        copy = json.loads(json.dumps(record))
        copy.pop("id")
        copy["config"].update(track="speed-resnet50", track_kind="speed")
        copy["results"].update(accuracy=None, accuracy_fp32=None, accuracy_delta_pp=None,
                               accuracy_null_reason=SPEED_REASON)
        path = RecordStore(store).write(copy)  # validates against suite/records/record-v1.schema.json
        speed.append(json.loads(path.read_text()))
    assert len(speed) >= 2
    return store, speed


def test_speed_tracks_have_their_own_page_and_never_crash_on_null_accuracy(app, speed_store, records):
    store, speed = speed_store
    speed_ids = {r["id"] for r in speed}
    # the Board and All rows: accuracy tracks only, with a pointer to the speed page
    at = app(published=store)
    assert not at.exception, _texts(at.exception)
    assert list(_board_tables(at)) == ["digits-mlp · cpu", "digits-mlp · edge"]
    assert any(f"{len(speed)} entries of speed-only tracks" in c for c in _texts(at.caption))
    at.slider(key="min_rel_acc").set_value(0.0).run()  # not even at a 0% threshold are they ranked here
    assert not at.exception and "speed-resnet50 · cpu" not in _board_tables(at)
    at = app(published=store, view="rows", min_acc="0")
    assert not at.exception, _texts(at.exception)
    (flat,) = [df.value for df in at.dataframe if "link" in df.value.columns]
    assert "speed-resnet50" not in set(flat["track"]) and not speed_ids & _ids(flat)
    # the accuracy Pareto skips them
    at = app(published=store, view="pareto")
    assert not at.exception, _texts(at.exception)
    assert at.selectbox(key="pareto_combo").options and \
        not any("speed-resnet50" in option for option in at.selectbox(key="pareto_combo").options)
    # their own page: ranked by speedup among themselves, accuracy shown as "—"
    at = app(published=store, view="speed")
    assert not at.exception, _texts(at.exception)
    assert [_unescape(h) for h in _texts(at.subheader)] == ["speed-resnet50 · cpu", "Speedup vs size / memory"]
    (table,) = [df.value for df in at.dataframe if "link" in df.value.columns]
    assert _ids(table) == speed_ids
    assert set(table["accuracy_pct"]) == {"—"} and set(table["delta_pp"]) == {"—"}
    assert list(table["speedup"]) == sorted((r["results"]["speedup_single_stream"] for r in speed), reverse=True)
    # the speed page's plot: speedup against size, then memory
    for metric, x_of in (("size", lambda r: r["results"]["size"]["artifact_bytes"] / 1024),
                         ("memory", lambda r: r["results"]["memory"]["net_peak_rss_bytes"] / 2**20)):
        at.radio(key="speed_metric").set_value(metric).run()
        assert not at.exception, (metric, _texts(at.exception))
        (chart,) = at.get("plotly_chart")
        spec = json.loads(chart.proto.spec)
        points = sorted((x, y) for t in spec["data"] if t.get("mode") == "markers"
                        for x, y in zip(_plotly_array(t["x"]), _plotly_array(t["y"])))
        expected = sorted((x_of(r), r["results"]["speedup_single_stream"]) for r in speed)
        assert [x for p in points for x in p] == pytest.approx([x for p in expected for x in p]), metric
        assert spec["layout"]["yaxis"]["title"]["text"].startswith("speedup")
    # the Entry page shows "—" for the accuracy, and Compare against an accuracy-track entry too
    at = app(published=store, view="entry", id=speed[0]["id"])
    assert not at.exception, _texts(at.exception)
    accuracy = next(m for m in at.metric if m.label == "accuracy")
    assert accuracy.value == "—"
    (fp32,) = _runs(records, "fp32", "cpu")
    at = app(published=store, view="compare", run=False)
    at.query_params["ids"] = [fp32["id"], speed[0]["id"]]
    at.run()
    assert not at.exception, _texts(at.exception)
    table = at.dataframe[0].value
    entries = [c for c in table.columns if c != "differs" and "÷" not in c]
    assert table.loc["accuracy %", entries[1]] == "—" and table.loc["Δ vs fp32 (pp)", entries[1]] == "—"
    from leaderboard.app import number
    assert table.loc["accuracy %", entries[0]] == number(fp32["results"]["accuracy"] * 100)
