"""`slimbench publish --from DIR`: validated records only, with reasons for refusals; idempotent."""
from __future__ import annotations

import json
import shutil

from suite.cli import main


def test_publish_refuses_quick_and_invalid_then_copies(record_store, records, tmp_path, capsys):
    source, dest = tmp_path / "source", tmp_path / "published"
    shutil.copytree(record_store, source)
    (source / "broken.json").write_text("{not json")
    # everything in the fixture store was measured with --quick: refused by default, with the reason
    assert main(["publish", "--from", str(source), "--to", str(dest)]) == 1
    err = capsys.readouterr().err
    assert "broken.json" in err and "not a readable JSON record" in err
    assert "--quick latency loops" in err
    assert not dest.exists() or not list(dest.glob("*.json"))
    # --allow-quick: every valid record is copied unchanged (same id = same content); broken still refused
    assert main(["publish", "--from", str(source), "--to", str(dest), "--allow-quick"]) == 1
    published = {p.stem: json.loads(p.read_text()) for p in dest.glob("*.json")}
    assert published == {r["id"]: r for r in records}
    # idempotent
    (source / "broken.json").unlink()
    assert main(["publish", "--from", str(source), "--to", str(dest), "--allow-quick"]) == 0
    assert f"0 published into {dest}; {len(records)} already there" in capsys.readouterr().out


def test_publish_skip_failed_and_dry_run(record_store, records, tmp_path, capsys):
    dest = tmp_path / "published"
    assert main(["publish", "--from", str(record_store), "--to", str(dest), "--allow-quick", "--skip-failed",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    n_failed = sum(r["status"] == "failed" for r in records)
    assert f"{len(records) - n_failed} would publish" in out and f"{n_failed} skipped" in out
    assert not dest.exists()
    assert main(["publish", "--from", str(record_store), "--to", str(dest), "--allow-quick", "--skip-failed"]) == 0
    assert len(list(dest.glob("*.json"))) == len(records) - n_failed


def test_publish_missing_source(tmp_path, capsys):
    assert main(["publish", "--from", str(tmp_path / "nope"), "--to", str(tmp_path / "d")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_a_record_published_under_an_older_schema_version_is_not_published_again(tmp_path, monkeypatch, capsys):
    """Ids are content hashes and the schema version is content: a v1 record in a store whose copy was published
    (upgraded to v2 then) is the same run, not a new one, when the writer emits v3."""
    from suite.paths import PUBLISHED_RESULTS
    from suite.records import store as store_module

    v1 = next(r for r in (json.loads(p.read_text()) for p in sorted(PUBLISHED_RESULTS.glob("*.json")))
              if r["schema_version"] == 1)
    source, dest = tmp_path / "source", tmp_path / "published"
    source.mkdir()
    (source / f"{v1['id']}.json").write_text(json.dumps(v1))
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "SCHEMA_VERSION", 2)  # published when writers emitted v2
        store_module.RecordStore(dest).write(v1)
    (v2_file,) = dest.glob("*.json")
    assert json.loads(v2_file.read_text())["schema_version"] == 2 and v2_file.stem != v1["id"]
    assert main(["publish", "--from", str(source), "--to", str(dest), "--force"]) == 0
    assert f"0 published into {dest}; 1 already there" in capsys.readouterr().out
    assert list(dest.glob("*.json")) == [v2_file]
