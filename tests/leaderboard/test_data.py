"""leaderboard.data / leaderboard.pareto: pure functions and record loading."""
from __future__ import annotations

import os

from leaderboard import data, pareto


def test_pareto_mask():
    costs = [1.0, 2.0, 3.0, 1.5, 2.0, None, float("nan")]
    accs = [90.0, 95.0, 99.0, 89.0, 95.0, 99.9, 99.9]
    # 1.5/89 is dominated by 1.0/90; the two identical 2.0/95 points do not dominate each other
    assert pareto.pareto_mask(costs, accs) == [True, True, True, False, True, False, False]
    assert pareto.pareto_mask([], []) == []


def test_verdicts():
    """The badge reads the one typed verdict (suite/reproduce/verdict.py); a version-1/2 record's verdict is
    upgraded first (suite/records/migrate.py), and nothing is guessed from words."""
    def typed(passed, **extra):
        return {"kind": "record", "of": "x" * 16, "passed": passed,
                "checks": [{"name": "accuracy_pct", "passed": passed}], **extra}
    assert data.verdict_passed({"schema_version": 3, "verdict": typed(True)}) is True
    assert data.verdict_passed({"schema_version": 3, "verdict": typed(False)}) is False
    assert data.verdict_passed({"schema_version": 3, "verdict": None}) is None
    # version 2: the record re-run's shape, and shapes SlimBench never wrote (only a boolean `passed` counts)
    legacy = {"of": "x", "passed": True, "checks": [{"name": "status", "passed": True}]}
    assert data.verdict_passed({"schema_version": 2, "verdict": legacy}) is True
    assert data.verdict_passed({"schema_version": 2, "verdict": {"passed": False}}) is False
    assert data.verdict_passed({"schema_version": 2, "verdict": {"status": "PASSED"}}) is False
    assert data.verdict_passed({"schema_version": 1}) is None
    ok = {"schema_version": 3, "kind": "reproduction", "status": "ok", "verdict": typed(True)}
    assert data.is_reproduction(ok)
    assert data.is_reproduction({**ok, "verdict": None})
    assert not data.is_reproduction({**ok, "verdict": typed(False)})
    assert data.is_failed_reproduction({**ok, "verdict": typed(False)})
    assert not data.is_reproduction({**ok, "status": "failed"})
    assert data.is_reproduction({**ok, "kind": "run"})
    assert not data.is_reproduction({"schema_version": 3, "kind": "run", "status": "ok"})


def test_labels():
    assert data.method_label("fp32") == "fp32"
    assert data.method_label("/x/y/my_method.py:Pruner") == "my_method.py:Pruner"
    assert data.method_label("torch-magnitude+ort-int8-static") == "torch-magnitude+ort-int8-static"
    assert data.params_text({"b": [1, 2], "a": 0.5}) == "a=0.5, b=1,2"
    record = {"provenance": {"cpu": {"model": "Xeon", "logical_cores": 8}, "gpu": {"model": "H100"}}}
    assert data.hardware_label(record) == "Xeon (8 cores) + H100"


def test_resolve_sources(monkeypatch, tmp_path):
    from suite.paths import PUBLISHED_RESULTS

    monkeypatch.delenv(data.STORES_ENV, raising=False)
    monkeypatch.delenv(data.PUBLISHED_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert data.resolve_sources() == [data.Source("published", PUBLISHED_RESULTS),
                                      data.Source("local", tmp_path / "results")]
    monkeypatch.setenv(data.STORES_ENV, os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    monkeypatch.setenv(data.PUBLISHED_ENV, "")
    assert [s.root for s in data.resolve_sources()] == [tmp_path / "a", tmp_path / "b"]
    # arguments win over the environment; the same directory twice is read once
    sources = data.resolve_sources([tmp_path / "c", tmp_path / "c"], published=tmp_path / "p")
    assert sources == [data.Source("published", tmp_path / "p"), data.Source("local", tmp_path / "c")]
    assert data.resolve_sources([tmp_path / "c"], published=tmp_path / "p", no_published=True) == \
        [data.Source("local", tmp_path / "c")]


def test_load_reports_bad_files_and_dedupes(record_store, records, tmp_path):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(record_store, store)
    (store / "bad.json").write_text("[1, 2]")
    loaded = data.load([data.Source("published", record_store), data.Source("local", store)])
    assert len(loaded.records) == len(records)  # the copies are the same records
    assert {r["id"] for r in loaded.records} == {r["id"] for r in records}
    assert set(loaded.sources.values()) == {"published"}
    assert [p.path.name for p in loaded.problems] == ["bad.json"] and "not a JSON object" in loaded.problems[0].message
    df = data.frame(loaded)
    assert len(df) == len(records)
    reproduced = df[df["reproduced"]]
    assert set(reproduced["method"]) == {"fp32"} and set(reproduced["target"]) == {"cpu"}


def test_empty_frame_has_columns():
    df = data.frame(data.Loaded())
    assert df.empty and {"speedup", "reproduced", "hardware"} <= set(df.columns)
    rows, hidden = data.board_rows(df, data.Filters())
    assert rows.empty and hidden == 0


def test_failed_reproduction_badge(records, tmp_path):
    """A reproduction whose verdict failed marks its original, without the reproduced badge."""
    from suite.records.store import RecordStore

    store = RecordStore(tmp_path / "store")
    for record in records:
        if record["kind"] == "reproduction":
            verdict = dict(record["verdict"], passed=False)
            store.write({k: v for k, v in record.items() if k != "id"} | {"verdict": verdict})
        else:
            store.write(record)
    df = data.frame(data.load([data.Source("local", store.root)]))
    fp32_cpu = df[(df["method"] == "fp32") & (df["target"] == "cpu") & (df["kind"] == "run")].iloc[0]
    assert not fp32_cpu["reproduced"] and fp32_cpu["failed_reproductions"] == 1
    assert fp32_cpu["reproductions"] == 0


def test_records_of_a_since_retrained_reference_are_hidden_by_default(records, tmp_path):
    """A record whose checkpoint sha256 is not the track's committed one belongs to an older reference: the
    board hides it (and so does not let it win 'latest per configuration'), unless asked to show it."""
    from suite.records.store import RecordStore
    from suite.tracks import get_track

    current = get_track("digits-mlp").checkpoint_sha256
    store = RecordStore(tmp_path / "store")
    runs = [r for r in records if r["kind"] == "run" and r["status"] == "ok"]
    assert runs and all(r["provenance"]["checkpoint_sha256"] == current for r in runs)
    for record in runs:
        store.write(record)
    stale = {k: v for k, v in runs[0].items() if k != "id"}
    stale["provenance"] = dict(stale["provenance"], checkpoint_sha256="0" * 64)
    stale["created_utc"] = "2999-01-01T00:00:00Z"  # newest, so 'latest only' would otherwise pick it
    store.write(stale)
    df = data.frame(data.load([data.Source("local", store.root)]))
    flags = dict(zip(df["id"], df["reference_current"]))
    assert sorted(set(flags.values()), key=str) == [False, True]
    shown, _ = data.board_rows(df, data.Filters(min_relative_accuracy=0.0))
    assert shown["reference_current"].all() and len(shown) == len(runs)
    everything, _ = data.board_rows(df, data.Filters(min_relative_accuracy=0.0, current_reference_only=False))
    assert (~everything["reference_current"].astype(bool)).sum() == 1
    assert data.reference_is_current("no-such-track", current) is None
    assert data.reference_is_current("digits-mlp", None) is None
