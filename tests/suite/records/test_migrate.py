"""suite/records/migrate.py: schema version 3 types the verdict; every published record (versions 1-2) still
validates as stored, upgrades to a valid version-3 record saying the same thing, and a migrated store renders
on the board and in the README exactly as the published one did (the golden fixture)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from suite.errors import RecordError
from suite.records.migrate import migrate_store, upgrade, upgrade_verdict
from suite.records.store import SCHEMA_VERSION, RecordStore, content_id, load_record, validate
from suite.reproduce.verdict import read_verdict

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = REPO / "leaderboard" / "results"


def _published() -> list[dict]:
    return [load_record(p, check_name=True) for p in sorted(PUBLISHED.glob("*.json"))]


def test_writers_emit_version_3_and_older_verdict_shapes_are_refused_in_it():
    assert SCHEMA_VERSION == 3
    record = next(r for r in _published() if (r.get("verdict") or {}).get("rows"))
    assert record["schema_version"] < 3
    claimed = {k: v for k, v in record.items() if k != "id"} | {"schema_version": 3}
    claimed["id"] = content_id(claimed)
    with pytest.raises(RecordError, match="verdict"):
        validate(claimed)  # a version-3 record must carry the typed verdict


def test_every_published_verdict_upgrades_to_a_valid_version_3_record_saying_the_same():
    upgraded = 0
    for record in _published():
        new = upgrade(record)
        assert new["schema_version"] == 3
        body = {k: v for k, v in new.items() if k != "id"}
        validate(body | {"id": content_id(body)})
        if record.get("verdict") is None:
            assert new.get("verdict") is None
            continue
        old, verdict = record["verdict"], read_verdict(record)
        assert verdict.passed is old["passed"]
        assert new["verdict"]["passed"] is old["passed"]  # recomputed from the checks, equal to what was recorded
        if "rows" in old:   # a paper card's verdict
            assert verdict.kind == "paper" and verdict.paper == old["paper"] and verdict.title == old["title"]
            assert [(c.name, c.expected, c.measured, c.passed, c.status()) for c in verdict.checks] == \
                [(r["quantity"], r["expected"], r["measured"], r["passed"], r["status"]) for r in old["rows"]]
            assert verdict.notes == old["notes"] and verdict.card_sha256 == old["card_sha256"]
        else:               # a record re-run's verdict
            assert verdict.kind == "record" and verdict.of == old["of"]
            assert [(c.name, c.expected, c.measured, c.passed) for c in verdict.checks] == \
                [(c["name"], c["expected"], c["measured"], c["passed"]) for c in old["checks"]]
            assert any("artifact sha256 identical" in n for n in verdict.notes)
        upgraded += 1
    assert upgraded == 7  # 6 paper-card records, 1 record re-run


def test_upgrade_leaves_a_current_record_alone_and_never_guesses():
    current = {"schema_version": 3, "verdict": {"kind": "record", "of": "a" * 16, "passed": True, "checks": []}}
    assert upgrade(current) is current
    assert upgrade_verdict(None) is None
    worded = upgrade_verdict({"status": "PASSED", "of": "b" * 16})
    assert worded["passed"] is False and worded["of"] == "b" * 16 and "unknown shape" in worded["notes"][0]
    assert upgrade_verdict({"passed": True})["passed"] is True


def test_a_store_write_upgrades_an_older_record(tmp_path):
    """`slimbench publish` re-writes records through the store: an older record comes out as version 3."""
    record = next(r for r in _published() if (r.get("verdict") or {}).get("rows"))
    path = RecordStore(tmp_path).write(copy.deepcopy(record))
    written = load_record(path, check_name=True)
    assert written["schema_version"] == 3 and written["verdict"]["kind"] == "paper"
    assert written["verdict"]["checks"][0]["name"] == record["verdict"]["rows"][0]["quantity"]


def test_migrated_store_renders_as_the_published_one(tmp_path, monkeypatch):
    """Before/after: the published records and the speed records, migrated into a version-3 store (new ids,
    `of` links re-pointed), render on the board and in the README exactly as the golden fixture captured."""
    from tests.leaderboard import test_rendering_golden as golden

    before = tmp_path / "before"
    before.mkdir()
    for folder in golden.RECORD_DIRS:
        for path in sorted(folder.glob("*.json")):
            (before / path.name).write_bytes(path.read_bytes())
    after = tmp_path / "after"
    mapping = migrate_store(before, after)
    assert len(mapping) == len(list(before.glob("*.json")))
    migrated = RecordStore(after).records()
    assert {r["schema_version"] for r in migrated} == {3}
    reproduction = next(r for r in migrated if (r.get("verdict") or {}).get("kind") == "record")
    assert reproduction["verdict"]["of"] in {r["id"] for r in migrated}  # re-pointed to the migrated original

    monkeypatch.setattr(golden, "RECORD_DIRS", (after,))
    fixture = json.loads(golden.GOLDEN.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(golden.render_all(tmp_path / "render"), default=str))
    def unordered(rows):  # the raw frame is in file-name (= id) order, which a migration changes; tables are not
        return {key: {c: v for c, v in cells.items() if c != "_position"} for key, cells in rows.items()}
    problems = golden._row_differences("frame", unordered(fixture["frame"]), unordered(now["frame"]))
    problems += golden._row_differences("board", fixture["board"]["rows"], now["board"]["rows"])
    for name in fixture["speed_page"]:
        problems += golden._row_differences(name, fixture["speed_page"][name], now["speed_page"].get(name, {}))
    problems += [t for t in ("readme_table", "readme_speed_table") if fixture[t] != now[t]]
    assert not problems, "\n".join(problems[:20])
