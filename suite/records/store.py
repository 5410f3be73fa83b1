"""Record store: a directory of `<id>.json` files, each validated against the versioned schema.

Writes are atomic (temp file in the same directory + fsync + rename): a crash mid-run leaves no
partial record and never touches records already written."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from suite.atomic import atomic_write_bytes
from suite.errors import RecordError

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("record-v1.schema.json")


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_id(record: dict) -> str:
    """Id = content hash of the record without its id (first 16 hex of sha256)."""
    body = {k: v for k, v in record.items() if k != "id"}
    return hashlib.sha256(canonical_json(body)).hexdigest()[:16]


def validate(record: dict, source: str = "<record>") -> dict:
    errors = sorted(_validator().iter_errors(record), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        raise RecordError(f"{source}: does not match record schema v{SCHEMA_VERSION} at {where}: {first.message}"
                          + (f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""))
    if record.get("id") != content_id(record):
        raise RecordError(f"{source}: id {record.get('id')!r} is not the content hash of the record "
                          f"({content_id(record)}): the record was modified after it was written")
    return record


def finalize(record: dict) -> dict:
    record = dict(record, schema_version=SCHEMA_VERSION)
    record.pop("id", None)
    record["id"] = content_id(record)
    return validate(record)


def load_record(path: Path) -> dict:
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: not a readable JSON record ({exc})") from None
    if not isinstance(record, dict):
        raise RecordError(f"{path}: not a JSON object")
    return validate(record, str(path))


class RecordStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def write(self, record: dict) -> Path:
        record = finalize(record)
        self.root.mkdir(parents=True, exist_ok=True)
        dest = self.root / f"{record['id']}.json"
        atomic_write_bytes(dest, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), suffix=".json")
        return dest

    def paths(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*.json") if not p.name.startswith("."))

    def iter_records(self, skip_invalid: bool = False) -> Iterator[tuple[Path, dict | RecordError]]:
        """Yields (path, record) — or (path, RecordError) for invalid files when skip_invalid."""
        for path in self.paths():
            try:
                yield path, load_record(path)
            except RecordError as exc:
                if not skip_invalid:
                    raise
                yield path, exc

    def records(self) -> list[dict]:
        return [r for _, r in self.iter_records(skip_invalid=True) if isinstance(r, dict)]

    def find(self, prefix: str) -> dict:
        matches = [p for p in self.paths() if p.stem.startswith(prefix)]
        if not matches:
            raise RecordError(f"no record with id starting {prefix!r} in {self.root}")
        if len(matches) > 1:
            raise RecordError(f"id prefix {prefix!r} is ambiguous in {self.root}: "
                              + ", ".join(p.stem for p in matches[:10]))
        return load_record(matches[0])
