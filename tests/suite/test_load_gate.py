"""Records timed under load: marked, and refused by `publish` and `ingest` unless --force."""
from __future__ import annotations

import copy
import json

import pytest

from suite.cli import main
from suite.measure import load
from suite.records.store import RecordStore, finalize


@pytest.fixture(autouse=True)
def real_threshold(monkeypatch):
    monkeypatch.setattr(load, "HIGH_LOAD_SHARE", 0.20)  # tests/conftest.py lifts it for the other tests


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A real ort-int8-dynamic record (full latency settings, so publish does not refuse it as --quick)."""
    from suite.harness import RunSpec, Session
    from suite.measure.latency import LatencySettings

    tmp = tmp_path_factory.mktemp("gate")
    settings = LatencySettings(warmup=5, min_queries=20, min_seconds=0.05, rounds=2, offline_min_batches=3,
                               offline_min_seconds=0.05, max_seconds=0.2)
    session = Session(tmp / "store", settings=settings, workdir=tmp / "work", measure_memory=False)
    record = session.run(RunSpec("digits-mlp", "ort-int8-dynamic", "cpu"))
    assert record["status"] == "ok", record.get("error")
    return record


def with_load(record: dict, other: float, steal: float = 0.0) -> dict:
    r = copy.deepcopy(record)
    for phase in ("single_stream", "offline"):
        r["results"]["timing"][phase]["load"].update(other_cpu_share=other, steal_share=steal)
    return finalize(r)


def test_record_interference_is_recomputed_from_the_phases(measured):
    loaded = with_load(measured, 0.15, 0.10)
    loaded["results"]["timing"]["load"]["high"] = False  # a flag that says otherwise is not believed
    assert load.record_interference(loaded) == pytest.approx(0.25)
    assert "25% of the CPUs" in load.load_refusal(loaded) and "--force" in load.load_refusal(loaded)
    assert load.load_refusal(with_load(measured, 0.05)) is None


def test_records_without_load_figures_are_accepted(measured):
    old = copy.deepcopy(measured)
    del old["results"]["timing"]
    assert load.record_interference(old) is None and load.load_refusal(old) is None


def test_publish_refuses_loaded_records_unless_forced(measured, tmp_path, capsys):
    source, dest = RecordStore(tmp_path / "src"), tmp_path / "published"
    calm, busy = with_load(measured, 0.02), with_load(measured, 0.6)
    source.write(calm)
    source.write(busy)
    assert main(["publish", "--from", str(source.root), "--to", str(dest)]) == 1
    err = capsys.readouterr().err
    assert "REFUSED (1)" in err and "timed under load" in err and "60%" in err
    assert {p.stem for p in dest.glob("*.json")} == {calm["id"]}
    assert main(["publish", "--from", str(source.root), "--to", str(dest), "--force"]) == 0
    assert {p.stem for p in dest.glob("*.json")} == {calm["id"], busy["id"]}


def test_ingest_rules_refuse_loaded_records_unless_forced(measured):
    from suite.submission.ingest import check_record_rules

    busy = with_load(measured, 0.6)
    cfg = busy["config"]
    args = (f"records/{busy['id']}.json", cfg["method"], cfg["method_source_sha256"], {"tracks": [cfg["track"]]}, 0.9)
    problems = check_record_rules(busy, *args)
    assert any("timed under load" in p for p in problems), problems
    assert not any("timed under load" in p for p in check_record_rules(busy, *args, force=True))
    assert not any("timed under load" in p for p in check_record_rules(with_load(measured, 0.05), *args))


def test_table_marks_loaded_records(measured):
    from suite.report import format_table

    busy = json.loads(json.dumps(with_load(measured, 0.6)))
    busy["results"]["timing"]["load"]["high"] = True
    table = format_table([busy])
    assert "×" in table and "]*" in table and "timed under load" in table
