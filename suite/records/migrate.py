"""Record schema migrations: `upgrade(record)` gives a record of any accepted schema version in the current
shape (suite.records.store.SCHEMA_VERSION).

Versions and what an upgrade does:

- 1 -> 2: nothing (2 added the optional `submitter`).
- 2 -> 3: the `verdict` section becomes the one typed verdict of suite/reproduce/verdict.py
  (`$defs/verdict` in record-v1.schema.json: `kind` "paper" | "record", `passed`, named `checks`). Before 3 a
  verdict was any object; SlimBench wrote two shapes, both upgraded here without changing what they say:
  a paper verdict's `rows` (`quantity`, `expected`, `measured`, `unit`, `tolerance`, `passed`, `status`,
  `note`) become `checks` named by their quantity; a record re-run's `checks` keep their names and
  numbers, its `artifact_sha256_identical` becomes a note. A verdict of any other shape keeps only an
  explicit boolean `passed` (as one check) and says it was migrated; nothing is guessed from words.

Published files are not rewritten: they stay valid under the schema (which accepts versions 1-3), readers
upgrade them in memory (the leaderboard's rows, suite.reproduce.verdict.read_verdict), and a store write
(`RecordStore.write` -> `finalize`, e.g. `slimbench publish`) upgrades before it hashes, so a written record
is always of the current version. An upgraded record keeps the id of the file it was read from until it is
written again (a content id covers the stored form).

This module works on plain JSON (dicts): the records layer imports nothing above it."""
from __future__ import annotations

import copy
import json
from typing import Any

VERDICT_SINCE = 3   # the schema version that types the verdict

_ROW_TO_CHECK = {"quantity": "name", "expected": "expected", "measured": "measured", "unit": "unit",
                 "tolerance": "tolerance", "passed": "passed", "note": "note"}


def _passed(checks: list[dict], error: Any) -> bool:
    judged = [c for c in checks if c.get("passed") is not None]
    return error is None and bool(judged) and all(c["passed"] is True for c in judged)


def _paper(legacy: dict) -> dict:
    checks = [{new: row[old] for old, new in _ROW_TO_CHECK.items() if old in row}
              for row in legacy.get("rows") or [] if isinstance(row, dict)]
    out = {"kind": "paper", "checks": checks, "notes": [str(n) for n in legacy.get("notes") or []],
           "paper": str(legacy.get("paper") or ""), "title": str(legacy.get("title") or ""),
           "card": legacy.get("card"), "card_sha256": legacy.get("card_sha256"),
           "citation": legacy.get("citation") if isinstance(legacy.get("citation"), dict) else {}}
    if legacy.get("error"):
        out["error"] = str(legacy["error"])
    out["passed"] = _passed(checks, out.get("error"))
    return out


def _record(legacy: dict) -> dict:
    keys = ("name", "expected", "measured", "unit", "tolerance", "passed", "note")
    checks = [{k: c[k] for k in keys if k in c} for c in legacy["checks"] if isinstance(c, dict)]
    notes = [str(n) for n in legacy.get("notes") or []]
    if legacy.get("artifact_sha256_identical") is not None:
        notes.append(f"artifact sha256 identical to the original: {legacy['artifact_sha256_identical']}")
    out = {"kind": "record", "checks": checks, "notes": notes, "of": legacy.get("of"),
           "original": legacy.get("original") if isinstance(legacy.get("original"), dict) else {},
           "tolerances": legacy.get("tolerances") if isinstance(legacy.get("tolerances"), dict) else {}}
    if legacy.get("error"):
        out["error"] = str(legacy["error"])
    out["passed"] = _passed(checks, out.get("error"))
    return out


def _unknown(legacy: dict) -> dict:
    passed = legacy.get("passed") if isinstance(legacy.get("passed"), bool) else None
    text = json.dumps(legacy, sort_keys=True, default=str)
    check = {"name": "verdict (migrated)", "passed": passed, "measured": text[:2000],
             "note": "a verdict of a shape SlimBench never wrote; only its explicit boolean `passed` is kept"}
    out = {"kind": "record", "checks": [check], "notes": ["migrated from a pre-version-3 verdict of unknown shape"],
           "of": legacy.get("of") if isinstance(legacy.get("of"), str) else None, "original": {}, "tolerances": {}}
    out["passed"] = _passed([check], None)
    return out


def upgrade_verdict(legacy: Any) -> dict | None:
    """A pre-version-3 `verdict` value in the version-3 shape (None stays None)."""
    if legacy is None:
        return None
    if not isinstance(legacy, dict):
        return _unknown({"passed": legacy} if isinstance(legacy, bool) else {"value": legacy})
    if isinstance(legacy.get("rows"), list) and legacy.get("paper"):
        return _paper(legacy)
    if isinstance(legacy.get("checks"), list) and "of" in legacy:
        return _record(legacy)
    return _unknown(legacy)


def upgrade(record: dict) -> dict:
    """`record` in the current shape; the same object when it already is (a record being written has no
    schema_version yet: it is built in the current shape)."""
    from suite.records.store import SCHEMA_VERSION

    version = record.get("schema_version", SCHEMA_VERSION)
    if version >= VERDICT_SINCE:
        return record
    upgraded = copy.copy(record)
    if "verdict" in record:
        upgraded["verdict"] = upgrade_verdict(copy.deepcopy(record["verdict"]))
    upgraded["schema_version"] = SCHEMA_VERSION
    return upgraded


def migrate_store(source, dest) -> dict[str, str]:
    """Write every record of store `source` into store `dest` in the current shape: {old id: new id}.

    Upgrading changes a record's content, so its id (a content hash) changes; a verdict's `of` naming a
    record of the same store is re-pointed to that record's new id (originals are written before the
    reproductions that name them). `source` is not modified. Used for a store, never run on leaderboard/results
    (its ids are linked from docs and bookmarks; the board reads it upgraded in memory)."""
    from pathlib import Path

    from suite.records.store import RecordStore

    records = RecordStore(Path(source)).records()
    target = RecordStore(Path(dest))
    new_ids: dict[str, str] = {}
    pending = sorted(records, key=lambda r: ((r.get("verdict") or {}).get("of") is not None
                                             if isinstance(r.get("verdict"), dict) else False))
    for record in pending:
        upgraded = upgrade(record)
        verdict = upgraded.get("verdict")
        if isinstance(verdict, dict) and verdict.get("of") in new_ids:
            upgraded = dict(upgraded, verdict=dict(verdict, of=new_ids[verdict["of"]]))
        written = target.write({k: v for k, v in upgraded.items() if k != "id"})
        new_ids[record["id"]] = written.stem
    return new_ids


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write a record store's records in the current schema version "
                                                 "into another store (ids change; `of` links are re-pointed).")
    parser.add_argument("source")
    parser.add_argument("dest")
    args = parser.parse_args(argv)
    mapping = migrate_store(args.source, args.dest)
    changed = sum(old != new for old, new in mapping.items())
    print(f"{len(mapping)} records written to {args.dest} ({changed} with a new id)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
