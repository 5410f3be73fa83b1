"""Record store: a directory of `<id>.json` files, each validated against the versioned schema.

Writes are atomic (temp file in the same directory + fsync + rename): a crash mid-run leaves no
partial record and never touches records already written. Every write holds the store's lock
(`<store>/.slimbench-store.lock`, flock) and appends the file it wrote to `<store>/.slimbench-store.journal`: the store guard around a
submitted method reads it (under the same lock) to tell a concurrent run's record from tampering.

Reading trusts nothing in a file: the id is recomputed from the content and must equal both the `id`
field and the file name; a record over MAX_RECORD_BYTES, or holding NaN/infinity, is refused."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from suite.atomic import atomic_write_bytes
from suite.errors import RecordError

SCHEMA_VERSION = 3  # what writers emit; 2 added the optional `submitter` (issue 15), 3 typed the `verdict`
                    # (issue 18). Readers accept 1-3: older records stay valid (record-v1.schema.json covers all)
                    # and are upgraded in memory by suite/records/migrate.py
SCHEMA_PATH = Path(__file__).with_name("record-v1.schema.json")
MAX_RECORD_BYTES = 1 << 20   # the largest published record is ~20 KB; tracebacks are capped at 20 KB
LOCK_FILE, JOURNAL_FILE = ".slimbench-store.lock", ".slimbench-store.journal"


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def canonical_json(obj) -> bytes:
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except ValueError as exc:
        raise RecordError(f"a record holds a number that is not finite (NaN or infinity), which is refused: {exc}") \
            from None


def content_id(record: dict, canonical=canonical_json) -> str:
    """Id = content hash of the record without its id (first 16 hex of sha256). `canonical` writes the body's
    canonical bytes; another writer must give canonical_json's bytes (the leaderboard index passes orjson's
    where they are provably equal)."""
    body = {k: v for k, v in record.items() if k != "id"}
    return hashlib.sha256(canonical(body)).hexdigest()[:16]


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


def as_written(record: dict) -> dict:
    """The record as a writer emits it now, not yet validated: upgraded to the current schema version (an older
    record being re-written, e.g. by publish), versioned and content-hashed. Its id is the one the record gets
    when written now (publish compares these: ids change with the schema version)."""
    from suite.records.migrate import upgrade

    record = dict(upgrade(record), schema_version=SCHEMA_VERSION)
    record.pop("id", None)
    record["id"] = content_id(record)
    return record


def finalize(record: dict) -> dict:
    """The record as written (as_written), validated."""
    return validate(as_written(record))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def load_record(path: Path, check_name: bool = False) -> dict:
    """check_name: the file name must be `<id>.json` with the id recomputed from the content (store files)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise RecordError(f"{path}: {size} bytes, over the {MAX_RECORD_BYTES}-byte cap on a record; refused")
        record = json.loads(path.read_text(), parse_constant=_refuse_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise RecordError(f"{path}: not a readable JSON record ({exc})") from None
    if not isinstance(record, dict):
        raise RecordError(f"{path}: not a JSON object")
    record = validate(record, str(path))
    if check_name and path.stem != record["id"]:
        raise RecordError(f"{path}: the file name says id {path.stem!r} but the record's content hash is "
                          f"{record['id']!r}; file names are not trusted as ids, so this file is refused")
    return record


class RecordStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    @contextlib.contextmanager
    def lock(self):
        """Exclusive lock on the store (writers, ingest, the store guard); blocks until it is free."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def write(self, record: dict) -> Path:
        record = finalize(record)
        data = (json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
        if len(data) > MAX_RECORD_BYTES:
            raise RecordError(f"record {record['id']} would be {len(data)} bytes, over the {MAX_RECORD_BYTES}-byte "
                              "cap on a record; nothing was written")
        with self.lock():
            dest = self.root / f"{record['id']}.json"
            atomic_write_bytes(dest, data, suffix=".json")
            with open(self.root / JOURNAL_FILE, "a") as journal:
                journal.write(f"{dest.name} {hashlib.sha256(data).hexdigest()}\n")
        return dest

    def paths(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*.json") if not p.name.startswith("."))

    def iter_records(self, skip_invalid: bool = False) -> Iterator[tuple[Path, dict | RecordError]]:
        """Yields (path, record) — or (path, RecordError) for invalid files when skip_invalid."""
        for path in self.paths():
            try:
                yield path, load_record(path, check_name=True)
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
        return load_record(matches[0], check_name=True)
