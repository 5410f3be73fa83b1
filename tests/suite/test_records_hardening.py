"""Issue 13, store side: ids are recomputed on read (a file name is not an id), records are capped at
1 MB, NaN/infinity are refused, and the store guard never removes a record a concurrent run wrote."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from suite.errors import RecordError
from suite.paths import PUBLISHED_RESULTS
from suite.records.store import MAX_RECORD_BYTES, RecordStore, content_id, load_record
from suite.submission import storeguard


@pytest.fixture
def record() -> dict:
    path = sorted(PUBLISHED_RESULTS.glob("*.json"))[0]
    return json.loads(path.read_text())


def files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.name.endswith(".json")}


def test_a_file_named_after_another_id_is_refused_with_both_named(record, tmp_path):
    store = RecordStore(tmp_path)
    real = store.write(record)
    real_id = json.loads(real.read_text())["id"]  # the store writes the current schema version: its own id
    forged = tmp_path / "0123456789abcdef.json"
    forged.write_bytes(real.read_bytes())
    problems = {p.name: r for p, r in store.iter_records(skip_invalid=True)}
    assert isinstance(problems[forged.name], RecordError)
    message = str(problems[forged.name])
    assert "0123456789abcdef" in message and real_id in message and "not trusted as ids" in message
    assert [r["id"] for r in store.records()] == [real_id]
    with pytest.raises(RecordError, match="file name says id"):
        store.find("0123")


def test_a_record_over_the_size_cap_is_refused_on_write_and_read(record, tmp_path):
    store = RecordStore(tmp_path / "s")
    big = copy.deepcopy(record)
    big["results"]["method_info"] = {"blob": "x" * MAX_RECORD_BYTES}
    with pytest.raises(RecordError, match="over the 1048576-byte cap"):
        store.write(big)
    assert not list((tmp_path / "s").glob("*.json"))
    big["id"] = content_id(big)
    path = tmp_path / f"{big['id']}.json"
    path.write_text(json.dumps(big))
    with pytest.raises(RecordError, match="over the 1048576-byte cap"):
        load_record(path)


def test_nan_is_refused_on_write_and_read(record, tmp_path):
    bad = copy.deepcopy(record)
    bad["results"]["accuracy_delta_pp"] = float("nan")
    with pytest.raises(RecordError, match="not finite"):
        RecordStore(tmp_path / "s").write(bad)
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(bad))   # Python's json writes NaN unless told not to
    with pytest.raises(RecordError, match="NaN is not a finite number"):
        load_record(path)


def test_the_store_guard_keeps_a_concurrent_writers_record_and_undoes_the_rest(record, tmp_path):
    store = RecordStore(tmp_path)
    existing = store.write(record)
    before_bytes = files(tmp_path)
    snap = storeguard.snapshot([tmp_path])
    # meanwhile: a concurrent built-in run writes its record through the store (lock + journal) ...
    other = dict(record, created_utc="2026-01-02T03:04:05Z")
    concurrent = store.write(other)
    # ... and something else adds a forged record and corrupts an existing one
    (tmp_path / "ffffffffffffffff.json").write_text("{}")
    existing.write_text("{}")
    with pytest.raises(storeguard.StoreTamperingError, match="restored") as err:
        storeguard.check_and_restore(snap, "a test method")
    assert "ffffffffffffffff.json" in str(err.value) and concurrent.name not in str(err.value)
    after = files(tmp_path)
    assert after == {**before_bytes, concurrent.name: concurrent.read_bytes()}


def test_the_store_guard_is_quiet_when_only_a_concurrent_writer_wrote(record, tmp_path):
    store = RecordStore(tmp_path)
    store.write(record)
    snap = storeguard.snapshot([tmp_path])
    written = store.write(dict(record, created_utc="2026-01-02T03:04:05Z"))
    storeguard.check_and_restore(snap, "a test method")
    assert written.is_file()
