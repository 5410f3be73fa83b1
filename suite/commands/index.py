"""slimbench index [--store DIR ...] [--published DIR | --no-published] [--rebuild]: bring the leaderboard's
DuckDB index up to date (leaderboard/index.py). Only files that are new or changed since the last run are
read and validated; the board does the same on its own when a store directory changes, so this is for
building a large index ahead of serving, or catching records edited in place (--rebuild re-validates all)."""
from __future__ import annotations

from pathlib import Path


def register(sub):
    p = sub.add_parser("index", help="build / refresh the leaderboard's record index (each record validated once)")
    p.add_argument("--store", type=Path, action="append", default=None,
                   help="local record store (repeatable; default ./results), as for `slimbench leaderboard`")
    p.add_argument("--published", type=Path, default=None,
                   help="published results directory (default leaderboard/results)")
    p.add_argument("--no-published", action="store_true", help="index only the local store(s)")
    p.add_argument("--index", type=Path, default=None,
                   help="index file (default $SLIMBENCH_LEADERBOARD_INDEX or ~/.cache/slimbench/leaderboard-index/)")
    p.add_argument("--rebuild", action="store_true", help="forget the index and validate every record again")
    p.set_defaults(func=run)


def run(args) -> int:
    import importlib.util

    from suite.errors import MissingExtraError

    for module in ("duckdb", "pandas", "pyarrow"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(module, "leaderboard")
    from leaderboard.data import resolve_sources
    from leaderboard.index import RecordIndex

    sources = resolve_sources([str(s.resolve()) for s in args.store] if args.store else None,
                              args.published, args.no_published)
    index = RecordIndex(sources, args.index)
    stats = index.rebuild() if args.rebuild else index.refresh(force=True)
    snapshot = index._snapshot
    for source in sources:
        print(f"{source.label}: {source.root} — {snapshot.counts.get(str(source.root), 0)} valid record(s)")
    for label, name, message in snapshot.problems[:20]:
        print(f"  skipped {label}/{name}: {message}")
    if len(snapshot.problems) > 20:
        print(f"  … and {len(snapshot.problems) - 20} more invalid file(s)")
    print(f"index {index.path}: {len(snapshot.rows)} rows; {stats}")
    return 0
