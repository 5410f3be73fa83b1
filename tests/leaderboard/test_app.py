"""The Streamlit app rendered headlessly with streamlit.testing.v1.AppTest, over real harness records
(tests/leaderboard/make_records.py: digits-mlp, quick latency loops)."""
from __future__ import annotations

import json
import shutil

import pytest

from leaderboard.data import DEFAULT_MIN_RELATIVE_ACCURACY


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _board_tables(at) -> dict:
    """{subheader: ranked table}; the failed-runs table lives in an expander and has an error_type column."""
    tables = [df.value for df in at.dataframe if "error_type" not in df.value.columns]
    headers = _texts(at.subheader)
    assert len(headers) == len(tables)
    return dict(zip(headers, tables))


def _runs(records, method: str, target: str, kind: str = "run") -> list[dict]:
    return [r for r in records if r["config"]["method"] == method and r["config"]["target"] == target
            and r["kind"] == kind]


def _expected_ranked(records, target: str, threshold: float = DEFAULT_MIN_RELATIVE_ACCURACY) -> set[str]:
    return {r["id"] for r in records if r["config"]["target"] == target and r["status"] == "ok"
            and r["kind"] == "run" and r["results"]["accuracy"] / r["results"]["accuracy_fp32"] >= threshold}


def _ids(table) -> set[str]:
    return set(table["link"].str.removeprefix("?view=entry&id="))


def test_board_renders_published_records(app, record_store, records):
    at = app(published=record_store)
    assert not at.exception, _texts(at.exception)
    assert not at.warning
    tables = _board_tables(at)
    assert list(tables) == ["digits-mlp · cpu", "digits-mlp · edge"]
    cpu, edge = tables.values()
    assert _ids(cpu) == _expected_ranked(records, "cpu") and _ids(edge) == _expected_ranked(records, "edge")
    assert {"fp32", "torch-magnitude", "ort-int8-dynamic"} <= set(cpu["method"])
    assert set(edge["method"]) == {"fp32", "torch-magnitude", "tflite-dynamic-range"}
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
    assert row["throughput"] == pytest.approx(res["throughput_offline"]["samples_per_s"])
    assert row["throughput_speedup"] == pytest.approx(res["speedup_offline"])
    assert row["size_kb"] == pytest.approx(res["size"]["artifact_bytes"] / 1024)
    assert row["compression_ratio"] == pytest.approx(res["size"]["compression_ratio"]) and row["compression_ratio"] > 2
    assert row["peak_mem_mb"] == pytest.approx(res["memory"]["net_peak_rss_bytes"] / 2**20)
    assert row["hardware"].startswith(int8["provenance"]["cpu"]["model"])
    assert row["date"].replace(" ", "T") + "Z" == int8["created_utc"]
    # the `slimbench reproduce` record confers the badge on fp32/cpu only and is not ranked itself
    badges = dict(zip(cpu["method"], cpu["badge"]))
    assert badges["fp32"] == "✓ reproduced" and badges["ort-int8-dynamic"] == ""
    assert set(edge["badge"]) == {""}
    (reproduction,) = _runs(records, "fp32", "cpu", kind="reproduction")
    assert reproduction["verdict"]["passed"] is True
    assert reproduction["id"] not in _ids(cpu)
    # the failed run is listed apart with its error, never ranked
    failed = [df.value for df in at.dataframe if "error_type" in df.value.columns]
    assert len(failed) == 1 and list(failed[0]["error_type"]) == ["ConfigError"]
    assert "sparsity=1.5" in failed[0]["error_message"].iloc[0]
    assert failed[0]["id"].iloc[0] not in _ids(cpu)
    assert at.expander[0].label.startswith("Failed runs (1)")
    # the one-shot 80% pruned model is below 99% of fp32: hidden by default, and the page says so
    hidden = [r for r in records if r["status"] == "ok" and r["kind"] == "run"
              and r["results"]["accuracy"] / r["results"]["accuracy_fp32"] < DEFAULT_MIN_RELATIVE_ACCURACY]
    assert [r["config"]["method_params"]["schedule"] for r in hidden] == ["oneshot"]
    assert any(c.startswith("1 entry below 99% of fp32 accuracy hidden") for c in _texts(at.caption))


def test_empty_store(app, tmp_path):
    at = app(published=tmp_path / "no-such-published-dir", stores=[tmp_path / "empty"])
    assert not at.exception, _texts(at.exception)
    assert not at.dataframe and not at.warning
    assert any("No records yet" in text for text in _texts(at.info))
    for view in ("pareto", "entry", "compare"):
        other = app(published=None, stores=[tmp_path / "empty"], view=view)
        assert not other.exception, (view, _texts(other.exception))
        assert other.info, view


def test_corrupt_record_is_skipped_with_a_warning(app, record_store, records, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(record_store, store)
    (store / "corrupt.json").write_text('{"schema_version": 1, "id": ')  # deliberately broken JSON
    tampered = dict(records[0], created_utc="2000-01-01T00:00:00Z")  # valid JSON, no longer its content hash
    (store / "tampered.json").write_text(json.dumps(tampered))
    at = app(published=store)
    assert not at.exception, _texts(at.exception)
    warnings = _texts(at.warning)
    assert len(warnings) == 2
    assert any("corrupt.json" in w and "not a readable JSON record" in w for w in warnings)
    assert any("tampered.json" in w and "content hash" in w for w in warnings)
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
    at.multiselect(key="filter_family").set_value([]).run()
    at.multiselect(key="filter_target").set_value(["edge"]).run()
    assert list(_board_tables(at)) == ["digits-mlp · edge"]
    at.multiselect(key="filter_target").set_value([]).run()
    at.multiselect(key="filter_framework").set_value(["onnxruntime"]).run()
    assert [set(t["method"]) for t in _board_tables(at).values()] == [{"ort-int8-dynamic"}]
    at.multiselect(key="filter_framework").set_value([]).run()
    hardware = at.multiselect(key="filter_hardware").options
    assert len(hardware) == 1 and records[0]["provenance"]["cpu"]["model"] in hardware[0]
    # lowering the accuracy threshold to 0 shows the one-shot pruned model too
    at.slider(key="min_rel_acc").set_value(0.0).run()
    assert _ids(_board_tables(at)["digits-mlp · cpu"]) == _expected_ranked(records, "cpu", 0.0)
    assert len(_expected_ranked(records, "cpu", 0.0)) == len(_expected_ranked(records, "cpu")) + 1


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


def test_entry_view(app, record_store, records):
    (fp32,) = _runs(records, "fp32", "cpu")
    at = app(published=record_store, view="entry", id=fp32["id"])
    assert not at.exception, _texts(at.exception)
    assert _texts(at.subheader) == ["fp32 on digits-mlp · cpu"]
    assert fp32["config"]["command"] in _texts(at.code)
    assert fp32["config"]["command"].startswith("slimbench run --track digits-mlp --method fp32 --target cpu")
    assert any("✓ reproduced (1 passing" in m for m in _texts(at.markdown))
    assert len(at.get("download_button")) == 1
    assert fp32 in [json.loads(j.proto.body) for j in at.json]  # every field
    assert fp32["provenance"] in [json.loads(j.proto.body) for j in at.json]
    failed = next(r for r in records if r["status"] == "failed")
    at = app(published=record_store, view="entry", id=failed["id"])
    assert any("sparsity=1.5" in e for e in _texts(at.error))
    (reproduction,) = _runs(records, "fp32", "cpu", kind="reproduction")
    at = app(published=record_store, view="entry", id=reproduction["id"])
    assert not at.exception, _texts(at.exception)
    assert any(f"reproduction of [{fp32['id']}]" in m and "passed" in m for m in _texts(at.markdown))


def test_compare_view(app, record_store, records):
    (a,), (b,) = _runs(records, "fp32", "edge"), _runs(records, "tflite-dynamic-range", "edge")
    at = app(published=record_store, view="compare", run=False)
    at.query_params["ids"] = [a["id"], b["id"]]
    at.run()
    assert not at.exception, _texts(at.exception)
    table = at.dataframe[0].value
    assert len(table.columns) == 2
    assert list(table.loc["method"]) == ["fp32", "tflite-dynamic-range"]
    assert list(table.loc["target"]) == ["edge", "edge"]
    assert table.loc["size KB"].iloc[0] == format(a["results"]["size"]["artifact_bytes"] / 1024, ".4g")


def test_serving_without_headless_never_stops_at_streamlits_email_prompt():
    """`make run` serves non-headless; on a fresh machine Streamlit would ask for an email on stdin first."""
    import argparse

    from suite.commands.leaderboard import streamlit_command

    args = argparse.Namespace(store=None, no_published=False, published=None, port=8501, address="127.0.0.1",
                              headless=False)
    command = streamlit_command(args)
    assert command[command.index("--server.headless") + 1] == "false"
    assert command[command.index("--server.showEmailPrompt") + 1] == "false"
