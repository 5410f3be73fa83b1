"""Method sources kept beside the records: <store>/method-sources/<sha256>/<file>.py.

Records carry `config.method_source_sha256`; ingest stores the bundle's source here so that
`slimbench reproduce ID` can re-run a submitted method from the store alone. The directory holds no
.json files, so record readers (`RecordStore`, the leaderboard) never see it."""
from __future__ import annotations

import hashlib
from pathlib import Path

from suite.atomic import atomic_write_bytes

SOURCES_DIR = "method-sources"


def source_path(store_root: Path, sha256: str, file_name: str) -> Path:
    return Path(store_root) / SOURCES_DIR / sha256 / file_name


def store_source(store_root: Path, file_name: str, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    dest = source_path(store_root, digest, Path(file_name).name)
    if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() == digest:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest, data)
    return dest


def find_source(sha256: str, file_name: str, roots: list[Path], candidates: list[Path] = ()) -> Path | None:
    """A file with this sha256: first the given candidates (e.g. the path in the spec), then the stores."""
    paths = list(candidates) + [source_path(r, sha256, Path(file_name).name) for r in roots]
    for path in paths:
        path = Path(path)
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            return path
    return None
