"""Atomic file writes: temp file in the same directory + fsync + rename, so readers (and a crash) never
see a half-written file under the real name."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(dest: Path, data: bytes, prefix: str = ".tmp-", suffix: str = "") -> Path:
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=prefix, suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
