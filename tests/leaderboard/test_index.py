"""leaderboard/index.py: the DuckDB index over the record stores — built incrementally, each file validated
once, the same rows as reading every record, and `slimbench index`."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from leaderboard import data, index
from leaderboard.synthetic import make_store


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic") / "store"
    make_store(root, 400, seed=1)
    return root


def _counting(monkeypatch) -> list[str]:
    """Record every schema validation the index does in this process."""
    calls: list[str] = []
    real = index.validate_record

    def counted(record, name, cid=None):
        calls.append(name)
        return real(record, name, cid)
    monkeypatch.setattr(index, "validate_record", counted)
    return calls


def test_index_rows_equal_the_records_rows(record_store, records, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(record_store, store)
    sources = [data.Source("published", record_store), data.Source("local", store)]
    idx = index.RecordIndex(sources, tmp_path / "index.duckdb")
    stats = idx.refresh()
    assert stats.validated == 2 * len(records) and stats.invalid == 0
    from_index = data.frame_from_rows(idx.snapshot().rows).set_index("id").sort_index()
    from_records = data.frame(data.load(sources)).set_index("id").sort_index()
    assert list(from_index.index) == sorted(r["id"] for r in records)  # each record once, the first source wins
    assert set(from_index["source"]) == {"published"}
    for column in ("track", "target", "method", "params_text", "status", "precision", "sparsity_kind", "hardware",
                   "date", "reproductions", "failed_reproductions", "reference_current", "params_shown"):
        assert from_index[column].tolist() == from_records[column].tolist(), column
    for column in ("accuracy_pct", "delta_pp", "speedup", "throughput_speedup", "size_kb", "peak_mem_mb"):
        assert from_index[column].fillna(-1).tolist() == pytest.approx(from_records[column].fillna(-1).tolist())
    assert idx.snapshot().counts == {str(record_store): len(records), str(store): len(records)}


def test_adding_one_record_costs_one_validation(synthetic_store, tmp_path, monkeypatch):
    store = tmp_path / "store"
    shutil.copytree(synthetic_store, store)
    monkeypatch.setattr(index, "PARALLEL_MIN_FILES", 100)  # the first build goes through the worker pool
    sources = [data.Source("local", store)]
    first = index.RecordIndex(sources, tmp_path / "index.duckdb")
    stats = first.refresh()
    assert stats.validated == 400 and len(first.snapshot().rows) == 400
    assert not first.stale()  # nothing changed: the board's per-click check is one stat per store
    calls = _counting(monkeypatch)
    # a new record: the directory changed, one file is read and validated
    extra = tmp_path / "extra"
    make_store(extra, 1, seed=99)
    (new_file,) = extra.iterdir()
    shutil.copy(new_file, store / new_file.name)
    assert first.stale()
    snapshot = first.snapshot()
    assert calls == [new_file.name] and len(snapshot.rows) == 401
    # another process (a fresh board, `slimbench index`) finds the index current: nothing validated
    second = index.RecordIndex(sources, tmp_path / "index.duckdb")
    assert second.refresh(force=True).validated == 0 and calls == [new_file.name]
    assert len(second.snapshot().rows) == 401


def test_touch_edit_and_delete(synthetic_store, tmp_path, monkeypatch):
    store = tmp_path / "store"
    shutil.copytree(synthetic_store, store)
    idx = index.RecordIndex([data.Source("local", store)], tmp_path / "index.duckdb")
    idx.refresh()
    calls = _counting(monkeypatch)
    a, b, c = sorted(store.iterdir())[:3]
    os.utime(a, ns=(1, 1))  # touched: same content, new mtime -> re-hashed, not re-validated
    stats = idx.refresh(force=True)
    assert (stats.validated, stats.rehashed) == (0, 1) and calls == []
    record = json.loads(b.read_text())
    record["created_utc"] = "2001-01-01T00:00:00Z"  # edited in place: no longer its content id
    b.write_text(json.dumps(record))
    c.unlink()
    stats = idx.refresh(force=True)
    assert (stats.validated, stats.removed, stats.invalid) == (1, 1, 1) and calls == [b.name]
    snapshot = idx.snapshot()
    assert len(snapshot.rows) == 398
    ((label, name, message),) = snapshot.problems
    assert (label, name) == ("local", b.name) and "content hash" in message
    assert str(tmp_path) not in message  # the board shows it: a file name, never the server's path


def test_store_reading_rules_hold_in_the_index(records, tmp_path):
    """The index refuses what suite.records.store refuses: renamed files, NaN, oversize files, non-objects."""
    from suite.records.store import RecordStore

    store = tmp_path / "store"
    good = RecordStore(store).write({k: v for k, v in records[0].items() if k != "id"})
    shutil.copy(good, store / "renamed.json")
    (store / "nan.json").write_text(good.read_text().replace('"seed": 0', '"seed": NaN'))
    (store / "list.json").write_text("[]")
    (store / "big.json").write_text(" " * (2 << 20) + "{}")
    (store / ".hidden.json").write_text("{}")  # ignored, as RecordStore.paths() ignores it
    idx = index.RecordIndex([data.Source("local", store)], tmp_path / "index.duckdb")
    idx.refresh()
    snapshot = idx.snapshot()
    assert snapshot.rows["id"].tolist() == [good.stem]
    problems = {name: message for _, name, message in snapshot.problems}
    assert set(problems) == {"renamed.json", "nan.json", "list.json", "big.json"}
    assert "file name" in problems["renamed.json"] and "not a JSON object" in problems["list.json"]
    assert "not a finite number" in problems["nan.json"] and "cap" in problems["big.json"]
    loaded = data.load([data.Source("local", store)])  # the store agrees, file for file
    assert {p.path.name for p in loaded.problems} == set(problems)


def test_fast_validator_agrees_with_the_store(records):
    """fastjsonschema (the index's fast path) accepts exactly what the store's jsonschema validator accepts."""
    import copy

    from suite.paths import PUBLISHED_RESULTS
    from suite.records.store import RecordStore, content_id, validate

    fast = index._fast_validator()
    assert fast is not None
    corpus = [*RecordStore(PUBLISHED_RESULTS).records(), *records]
    mutations = [
        lambda r: r.pop("provenance"), lambda r: r.update(kind="other"), lambda r: r.update(status="weird"),
        lambda r: r.update(created_utc="yesterday"), lambda r: r.update(extra_field=1),
        lambda r: r["config"].update(seed="0"), lambda r: r["config"].update(track=""),
        lambda r: r.update(submitter=""), lambda r: r.update(submitter={"name": "x"}),
        lambda r: r.update(submitter="ada"), lambda r: r.update(schema_version=2), lambda r: r.update(schema_version=3),
        lambda r: r.pop("artifact") if r["status"] == "ok" else r.pop("error"),
        lambda r: (r.get("results") or {}).update(accuracy=1.5),
        lambda r: ((r.get("results") or {}).get("latency_single_stream") or {}).update(p50_ms=0),
        lambda r: ((r.get("results") or {}).get("size") or {}).pop("params", None),
        lambda r: r["provenance"]["cpu"].pop("model"),
    ]
    checked = 0
    for record in corpus:
        for mutate in [lambda r: None, *mutations]:
            candidate = copy.deepcopy(record)
            mutate(candidate)
            candidate["id"] = content_id(candidate)
            try:
                validate(candidate)
                slow_ok = True
            except Exception:  # noqa: BLE001
                slow_ok = False
            try:
                fast(candidate)
                fast_ok = True
            except Exception:  # noqa: BLE001
                fast_ok = False
            assert fast_ok == slow_ok, (record["id"], mutate)
            checked += 1
    assert checked > 1000


def test_schema_v2_submitter_keeps_every_published_record_valid():
    from suite.paths import PUBLISHED_RESULTS
    from suite.records.store import load_record

    for path in sorted(PUBLISHED_RESULTS.glob("*.json")):
        load_record(path)  # raises on the first one that no longer validates


def test_slimbench_index_command(synthetic_store, tmp_path, capsys, monkeypatch):
    from suite.cli import main

    monkeypatch.setenv(index.INDEX_ENV, str(tmp_path / "cli-index.duckdb"))
    store = tmp_path / "store"
    shutil.copytree(synthetic_store, store)
    (store / "broken.json").write_text("{")
    assert main(["index", "--store", str(store), "--no-published"]) == 0
    out = capsys.readouterr().out
    assert "400 valid record(s)" in out and "400 validated" in out and "1 invalid" in out
    assert "broken.json" in out
    assert main(["index", "--store", str(store), "--no-published"]) == 0
    assert "0 validated" in capsys.readouterr().out
    assert main(["index", "--store", str(store), "--no-published", "--rebuild"]) == 0
    assert "400 validated" in capsys.readouterr().out  # broken.json is read again but fails before the schema


@pytest.mark.slow  # 20,000 records: ~25 s to generate and ~10 s to index on 2 idle cores (`make test-slow`)
def test_adding_one_record_to_a_20k_store_costs_one_validation(tmp_path, monkeypatch):
    """At the scale of issue 15: a board over 20,000 indexed records validates the one record added, and a
    rerun with nothing new validates nothing. The board's own per-process object (live.Board) is used."""
    from leaderboard.live import Board

    store = tmp_path / "store"
    assert make_store(store, 20_000, seed=3) == 20_000
    monkeypatch.setenv(index.INDEX_ENV, str(tmp_path / "index.duckdb"))
    sources = [data.Source("local", store)]
    stats = index.RecordIndex(sources).refresh()  # the cold build (worker processes)
    assert (stats.validated, stats.invalid) == (20_000, 0)
    calls = _counting(monkeypatch)
    board = Board(sources)  # a fresh board process finds the index current: nothing validated
    _, df = board.frame()
    assert calls == [] and len(df) == 20_000
    extra = tmp_path / "extra"
    make_store(extra, 1, seed=20_001)
    (new_file,) = extra.iterdir()
    shutil.copy(new_file, store / new_file.name)
    _, df = board.frame()  # the next rerun: one stat says the store changed, one file is validated
    assert calls == [new_file.name] and board.index.validations == 1
    assert len(df) == 20_001 and new_file.stem in set(df["id"])
    _, again = board.frame()  # a click with nothing new: nothing read, the same frame
    assert again is df and calls == [new_file.name]


def test_fast_parse_and_hash_agree_with_the_json_module(records, tmp_path):
    """orjson's reading and content id (the index's fast path) equal the json module's and the store's
    content_id wherever the fast path answers, and it steps aside where they could differ: 19-digit
    integers, floats the two write differently (1e-05 / 0.00001, 1e+16), NaN and infinity, lone surrogates."""
    import random

    from suite.paths import PUBLISHED_RESULTS
    from suite.records.store import RecordStore, content_id

    if index._orjson() is None:
        pytest.skip("orjson is not installed (the index then takes the json path for every file)")
    corpus = [*RecordStore(PUBLISHED_RESULTS).records(), *records]
    rng = random.Random(0)
    answered = 0
    for record in corpus:
        raw = json.dumps(record, indent=1).encode()
        fast = index._parse_and_hash_fast(raw)
        if fast is None:  # only a record holding a float the two libraries may write differently steps aside
            assert not index._floats_write_alike(record), record["id"]
        else:
            assert fast == (json.loads(raw), content_id(record)), record["id"]
            answered += 1
        for value in (1e-05, 1e-07, 1e16, 1.5e300, 10 ** 19, -(10 ** 19), 2 ** 63 - 1, rng.random() * 1e-9,
                      0.1, 123.25, "\u2028 é 😀 \x00"):
            candidate = dict(record, extra_value=value)
            raw = json.dumps(candidate).encode()
            fast = index._parse_and_hash_fast(raw)
            if fast is not None:
                assert fast == (json.loads(raw), content_id(candidate)), (record["id"], value)
                answered += 1
            else:  # where it steps aside, the value is one of the kinds it must not answer for
                assert isinstance(value, (int, float)) and not isinstance(value, bool)
    assert answered > len(corpus) * 3
    for text in ('{"a": NaN}', '{"a": Infinity}', '{"a": 1e400}', '{"a": "\\ud800"}', '[1]', '\ufeff{}'):
        assert index._parse_and_hash_fast(text.encode()) is None, text
    path = tmp_path / "x.json"
    path.write_text('{"a": 1e400}')
    problem = index.read_record(path)[2]
    assert "not a finite number" in problem or "cannot hash" in problem
