"""Records: schema validation, content ids, atomic writes, corrupt files named."""
import json
import os

import pytest

from suite.errors import RecordError
from suite.records.store import RecordStore, load_record, validate


@pytest.fixture(scope="module")
def real_record(tmp_path_factory):
    from suite.harness import RunSpec, Session
    from suite.measure.latency import QUICK

    tmp = tmp_path_factory.mktemp("rec")
    session = Session(tmp / "store", settings=QUICK, workdir=tmp / "work", measure_memory=False)
    return session.run(RunSpec("digits-mlp", "fp32", "cpu"))


def test_record_validates_and_id_is_content_hash(real_record):
    validate(real_record)
    assert real_record["status"] == "ok"
    assert real_record["config"]["command"].startswith("slimbench run --track digits-mlp --method fp32")
    prov = real_record["provenance"]
    assert prov["cpu"]["model"] and prov["packages"]["onnxruntime"] and prov["checkpoint_sha256"]
    assert prov["dataset"]["sha256"]["digits.csv.gz"]


def test_tampered_record_is_rejected(real_record, tmp_path):
    tampered = dict(real_record, results=dict(real_record["results"], accuracy=1.0))
    path = tmp_path / f"{real_record['id']}.json"
    path.write_text(json.dumps(tampered))
    with pytest.raises(RecordError, match="content hash"):
        load_record(path)


@pytest.mark.parametrize("content, why", [
    ("{not json", "not a readable JSON"),
    ('{"schema_version": 1, "id": "abc"}', "does not match record schema"),
    ("[1, 2]", "not a JSON object"),
])
def test_corrupt_record_file_is_rejected_naming_the_file(tmp_path, content, why):
    path = tmp_path / "deadbeefdeadbeef.json"
    path.write_text(content)
    with pytest.raises(RecordError) as err:
        load_record(path)
    assert str(path) in str(err.value) and why in str(err.value)


def test_store_skips_corrupt_files_when_asked(real_record, tmp_path):
    store = RecordStore(tmp_path)
    store.write(real_record)
    (tmp_path / "0000000000000000.json").write_text("{broken")
    with pytest.raises(RecordError):
        list(store.iter_records())
    good = store.records()
    assert [r["id"] for r in good] == [real_record["id"]]


def test_a_failed_write_leaves_no_partial_record(real_record, tmp_path, monkeypatch):
    store = RecordStore(tmp_path)
    first = store.write(real_record)
    before = first.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    other = dict(real_record, created_utc="2030-01-01T00:00:00Z")
    with pytest.raises(OSError):
        store.write(other)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".slimbench-store.")] == [first.name]
    assert first.read_bytes() == before


def test_writers_emit_schema_version_3_with_an_optional_submitter_and_version_1_stays_valid(real_record, tmp_path):
    """Issue 15: `submitter` came with schema version 2 (issue 18: version 3 typed the verdict); new records say
    3, old (version 1) ones still load."""
    store = RecordStore(tmp_path / "store")
    assert real_record["schema_version"] == 3
    body = {k: v for k, v in real_record.items() if k != "id"}
    signed = json.loads(store.write({**body, "submitter": "ada"}).read_text())
    assert (signed["schema_version"], signed["submitter"]) == (3, "ada")
    from suite.records.store import content_id
    old = {**body, "schema_version": 1}
    old["id"] = content_id(old)
    assert validate(old)["schema_version"] == 1
