"""Defence in depth around a submitted method: the record store must be byte-identical afterwards.

The worker is never told where the store is, but a process of the same user can still find it
(scanning the disk, /proc/<parent>/cwd). So the harness snapshots every file under the guarded
directories before the method runs and compares afterwards. Files the method added are removed,
files it changed or deleted are restored from the snapshot (kept in memory up to a cap; above it,
the change is still detected and reported but cannot be undone). Either way the run is failed.

Another session may write into the same store while a submitted method runs: every RecordStore.write
holds the store's lock and appends the file name and sha256 it wrote to the store's journal. The guard
compares and restores under the same lock, and a file the journal (after the snapshot) names with its
exact sha256 is a concurrent run's record, left alone. (The sandbox already keeps submitted code away
from the store; this guard is the second line.)"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from suite.atomic import atomic_write_bytes

from suite.errors import SlimBenchError

BACKUP_CAP_BYTES = 512 << 20
BOOKKEEPING = (".slimbench-store.lock", ".slimbench-store.journal")  # the store's lock and journal (suite.records.store)


class StoreTamperingError(SlimBenchError):
    """A submitted method changed files in the record store."""


@dataclass
class Snapshot:
    roots: list[Path]
    hashes: dict[Path, str] = field(default_factory=dict)
    contents: dict[Path, bytes] | None = field(default_factory=dict)  # None: over the cap, detect only
    missing_roots: list[Path] = field(default_factory=list)  # guarded directories that did not exist yet
    journal_offsets: dict[Path, int] = field(default_factory=dict)  # journal size per root at the snapshot


def _files(root: Path):
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if (path.is_file() or path.is_symlink()) and not (path.parent == root and path.name in BOOKKEEPING):
                yield path


def snapshot(roots: list[Path]) -> Snapshot:
    roots = sorted({Path(r).resolve() for r in roots})
    snap = Snapshot(roots, missing_roots=[r for r in roots if not r.exists()])
    for root in roots:
        journal = root / BOOKKEEPING[1]
        snap.journal_offsets[root] = journal.stat().st_size if journal.is_file() else 0
    total = 0
    for root in roots:
        for path in _files(root):
            data = path.read_bytes() if path.is_file() else os.readlink(path).encode()
            snap.hashes[path] = hashlib.sha256(data).hexdigest()
            total += len(data)
            if snap.contents is not None:
                snap.contents[path] = data
                if total > BACKUP_CAP_BYTES:
                    snap.contents = None
    return snap


def _journaled(before: Snapshot) -> dict[Path, set[str]]:
    """Files (with their sha256) that RecordStore.write wrote into the roots since the snapshot."""
    out: dict[Path, set[str]] = {}
    for root in before.roots:
        journal = root / BOOKKEEPING[1]
        if not journal.is_file():
            continue
        with open(journal, "rb") as handle:
            handle.seek(before.journal_offsets.get(root, 0))
            for line in handle.read().decode(errors="replace").splitlines():
                name, _, digest = line.partition(" ")
                if name and "/" not in name:
                    out.setdefault(root / name, set()).add(digest.strip())
    return out


def compare(before: Snapshot) -> tuple[list[Path], list[Path], list[Path]]:
    """(added, changed, deleted) files under the snapshot's roots, leaving out concurrent writers' records."""
    after = snapshot(before.roots)
    journaled = _journaled(before)
    for path in [p for p in after.hashes if after.hashes[p] in journaled.get(p, ())]:
        before.hashes.setdefault(path, after.hashes[path])  # a concurrent run's record: part of the baseline now
        if before.contents is not None and path not in before.contents:
            before.contents[path] = path.read_bytes()
        if before.hashes[path] != after.hashes[path]:
            before.hashes[path] = after.hashes[path]
    added = sorted(set(after.hashes) - set(before.hashes))
    deleted = sorted(set(before.hashes) - set(after.hashes))
    changed = sorted(p for p in set(after.hashes) & set(before.hashes) if after.hashes[p] != before.hashes[p])
    return added, changed, deleted


def restore(before: Snapshot, added: list[Path], changed: list[Path], deleted: list[Path]) -> bool:
    """Undo the differences; False when the snapshot kept no contents (store over the cap)."""
    for path in added:
        if path.is_symlink() or path.is_file():
            path.unlink()
    for root in before.roots:  # directories the method created
        if root.is_dir():
            for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(d.iterdir()) and not any(d in k.parents for k in before.hashes):
                    d.rmdir()
    for root in before.missing_roots:
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
    if before.contents is None:
        return not changed and not deleted
    for path in changed + deleted:
        if path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, before.contents[path], prefix=".restore-")
    return True


def check_and_restore(before: Snapshot, who: str) -> None:
    """Raise StoreTamperingError (after restoring what can be restored) when anything changed. Holds every
    guarded store's lock meanwhile, so that no concurrent writer is mistaken for the method or undone."""
    from contextlib import ExitStack

    from suite.records.store import RecordStore

    with ExitStack() as locks:
        for root in before.roots:
            if (root / BOOKKEEPING[0]).is_file():  # a store RecordStore.write has written to (no lock file made elsewhere)
                locks.enter_context(RecordStore(root).lock())
        added, changed, deleted = compare(before)
        if not (added or changed or deleted):
            return
        restored = restore(before, added, changed, deleted)

    def names(paths):
        return ", ".join(str(p) for p in paths[:5]) + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")
    parts = [f"{label}: {names(paths)}" for label, paths in (("added", added), ("changed", changed),
                                                              ("deleted", deleted)) if paths]
    outcome = ("the previous contents were restored" if restored else
               "the store was too large to keep a copy, so changed/deleted files could NOT be restored")
    raise StoreTamperingError(f"{who} modified the record store while it ran ({'; '.join(parts)}); {outcome}. "
                              "Submitted methods must write only under context.workdir")
