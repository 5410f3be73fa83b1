"""The leaderboard's query index: one DuckDB file holding one flattened row per valid record file and one
problem per invalid one, built incrementally from the record stores (the JSON files stay the source of truth).

Each file is read, hashed and validated once. A file is looked at again only when its (size, mtime)
changes; if its content id is then the same (touched, copied back) it is not validated again. The board
decides whether to rescan at all from the stores' directory mtimes (records are written atomically by
rename, which changes the directory's mtime), so a rerun with nothing new costs one stat per store.

    slimbench index [--store DIR ...] [--published DIR | --no-published] [--rebuild]

The index lives in $SLIMBENCH_LEADERBOARD_INDEX, else ~/.cache/slimbench/leaderboard-index/<stores>.duckdb
(one file per set of stores, so `slimbench index` and the board with the same stores share it)."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from leaderboard import rows as flat
from suite.errors import RecordError

INDEX_ENV = "SLIMBENCH_LEADERBOARD_INDEX"
# Bump when the row layout or its derivation changes: an index of another version is rebuilt.
INDEX_VERSION = 6  # 4: track_kind, accuracy_null_reason (speed-only tracks); 5: intervals, ISA class, load, repeat;
# 6: over_budget
LOCK_WAIT_S = 10.0


@dataclass
class RefreshStats:
    scanned_stores: int = 0
    validated: int = 0          # files read, hashed and validated against the schema
    rehashed: int = 0           # files whose (size, mtime) changed but whose content id did not
    removed: int = 0
    invalid: int = 0            # files that failed (now or before) and are listed as problems
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"{self.validated} validated, {self.rehashed} unchanged content, {self.removed} removed, "
                f"{self.invalid} invalid, {self.scanned_stores} store(s) scanned in {self.seconds:.2f}s")


@dataclass
class Snapshot:
    """What the board reads: the rows (one per valid file, all sources) and the problems."""
    rows: list = field(default_factory=list)          # a pandas DataFrame in practice
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (source label, file name, message)
    counts: dict[str, int] = field(default_factory=dict)                # source root -> valid files


def default_index_path(sources) -> Path:
    override = os.environ.get(INDEX_ENV, "").strip()
    if override:
        return Path(override)
    from suite.paths import cache_dir

    key = "\n".join(f"{s.label}={Path(s.root).resolve()}" for s in sources)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / "leaderboard-index" / f"{digest}.duckdb"


def _connect(path: Path, read_only: bool = False):
    """Open the index, waiting a little for another process (a board, `slimbench index`) to release it."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            # one thread and a small buffer pool: the board's process stays small (the index is a few MB)
            return duckdb.connect(str(path), read_only=read_only,
                                  config={"threads": 1, "memory_limit": "256MB"})
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise RecordError(f"cannot open the leaderboard index {path}: {exc}") from None
            time.sleep(0.2)


def _create(con) -> None:
    columns = ", ".join(f'"{name}" {sql}' for name, sql, _ in flat.COLUMNS)
    con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS stores (root VARCHAR PRIMARY KEY, dir_mtime_ns BIGINT)")
    con.execute("CREATE TABLE IF NOT EXISTS files (root VARCHAR, name VARCHAR, size BIGINT, mtime_ns BIGINT, "
                "content_id VARCHAR, valid BOOLEAN, message VARCHAR, PRIMARY KEY (root, name))")
    con.execute(f"CREATE TABLE IF NOT EXISTS rows (root VARCHAR, name VARCHAR, {columns})")


def _prepare(con) -> None:
    """Create the tables; drop everything when the index was written by another INDEX_VERSION."""
    _create(con)
    found = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    if found is None or found[0] != str(INDEX_VERSION):
        for table in ("rows", "files", "stores", "meta"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        _create(con)
        con.execute("INSERT INTO meta VALUES ('version', ?)", [str(INDEX_VERSION)])


def _dir_mtime(root: Path) -> int | None:
    try:
        return os.stat(root).st_mtime_ns if root.is_dir() else None
    except OSError:
        return None


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    """{file name: (size, mtime_ns)} of the store's record files (as RecordStore.paths() sees them)."""
    out = {}
    try:
        entries = os.scandir(root)
    except OSError:
        return out
    with entries:
        for entry in entries:
            if not entry.name.endswith(".json") or entry.name.startswith("."):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except OSError:
                continue
            out[entry.name] = (stat.st_size, stat.st_mtime_ns)
    return out


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def read_record(path: Path) -> tuple[dict | None, str | None, str | None]:
    """(record or None, content id or None, problem message or None), by the store's reading rules (size cap,
    no NaN/infinity, file name = content id: suite.records.store.load_record). Messages name the file, never
    its directory (the board shows them to anyone who opens it)."""
    from suite.records import store

    cap = getattr(store, "MAX_RECORD_BYTES", None)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, None, f"{path.name}: not a readable JSON record ({exc})"
    if cap is not None and len(raw) > cap:
        return None, None, f"{path.name}: {len(raw)} bytes, over the {cap}-byte cap on a record; refused"
    fast = _parse_and_hash_fast(raw)
    if fast is not None:
        record, cid = fast
    else:
        try:
            record = json.loads(raw, parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            return None, None, f"{path.name}: not a readable JSON record ({exc})"
        if not isinstance(record, dict):
            return None, None, f"{path.name}: not a JSON object"
        try:
            cid = store.content_id(record)
        except (TypeError, ValueError, RecordError) as exc:
            return record, None, f"{path.name}: cannot hash the record ({exc})"
    if record.get("id") == cid and path.stem != cid:
        return record, cid, (f"{path.name}: the file name says id {path.stem!r} but the record's content hash is "
                             f"{cid!r}; file names are not trusted as ids, so this file is refused")
    return record, cid, None


# orjson's reading and canonical writing equal the json module's (suite.records.store.canonical_json) except
# for floats outside 1e-4 <= |x| < 1e16, which Python writes with an exponent and orjson sometimes not
# (1e-05 vs 0.00001, 1e+16 vs 1e16), and integers beyond 64 bits, which orjson reads as floats (>= 1.8e19, so
# outside that range too): a record holding such a float takes the json path. So does what orjson refuses to
# read (NaN, Infinity, numbers that overflow, lone surrogates, a BOM, UTF-16): json then decides and words the
# problem. tests/leaderboard/test_index.py checks the two paths agree.
PLAIN_FLOATS = (1e-4, 1e16)


def _floats_write_alike(obj) -> bool:
    """Does every float in obj lie where Python and orjson write it the same (0, or 1e-4 <= |x| < 1e16)?"""
    low, high = PLAIN_FLOATS
    stack = [obj]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif type(value) is float and value != 0.0 and not low <= abs(value) < high:
            return False
    return True


@functools.lru_cache(maxsize=1)
def _orjson():
    try:
        import orjson
    except ImportError:
        return None
    return orjson


def _parse_and_hash_fast(raw: bytes) -> tuple[dict, str] | None:
    """(record, content id) with orjson (a cold 20k-record index spent a third of its CPU parsing and
    canonically re-serialising records with the json module), or None where orjson's result could differ
    from the json module's or orjson is not installed: the caller then takes the json path."""
    orjson = _orjson()
    if orjson is None:
        return None
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or not _floats_write_alike(record):
        return None
    from suite.records.store import content_id

    try:
        return record, content_id(record, lambda body: orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    except orjson.JSONEncodeError:
        return None


@functools.lru_cache(maxsize=1)
def _fast_validator():
    """The record schema compiled to Python by fastjsonschema (~30x faster than jsonschema: 20k records in
    about a second instead of half a minute). None when the package is missing (then every file takes the
    store's jsonschema path). The schema uses nothing that differs between draft 7 and 2020-12;
    tests/leaderboard/test_index.py checks both validators agree."""
    try:
        import fastjsonschema
    except ImportError:
        return None
    from suite.records.store import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def validate_record(record: dict, name: str, cid: str | None = None) -> str | None:
    """The store's check (schema + content hash); the problem message or None. A record the fast validator
    accepts with the right content id is valid; anything else goes through suite.records.store.validate,
    which decides and words the message."""
    from suite.records.store import validate

    fast = _fast_validator()
    if fast is not None and cid is not None and record.get("id") == cid:
        try:
            fast(record)
            return None
        except Exception:  # noqa: BLE001 — JsonSchemaException and friends: let the store's validator decide
            pass
    try:
        validate(record, name)
    except RecordError as exc:
        return str(exc)
    return None


PARALLEL_MIN_FILES = 1500  # below this, worker start-up costs more than it saves
CHUNK_FILES = 500          # files per unit of work: a worker indexes a chunk, the parent inserts it


def index_file(root: Path, name: str, size: int, mtime: int, known_cid: str | None):
    """(name, size, mtime, content id, problem, row, validated) for one file; validated is None when the
    content id equals the indexed one (nothing to do but note the new size/mtime)."""
    record, cid, problem = read_record(root / name)
    if known_cid is not None and cid == known_cid:
        return name, size, mtime, cid, None, None, None
    validated = False
    if problem is None:
        problem = validate_record(record, name, cid)
        validated = True
    row = None
    if problem is None:
        try:
            row = flat.coerce(flat.record_row(record))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # valid yet unflattenable: say so
            problem = f"{name}: cannot be shown ({type(exc).__name__}: {exc})"
    return name, size, mtime, cid, problem, row, validated


@dataclass
class Chunk:
    """What indexing a chunk of files gives the parent to insert: per file (name, size, mtime, content id,
    problem, validated) — validated None when the content id is the indexed one — and the valid files' rows
    as one Arrow table (columnar: cheap to send back from a worker, and DuckDB reads it as it is)."""
    files: list
    rows: object = None  # pyarrow.Table with root, name and the flat columns, or None


def _index_chunk(root: str, todo: list) -> Chunk:
    import pyarrow as pa

    files, rows = [], []
    for name, size, mtime, cid, problem, row, validated in (index_file(Path(root), *item) for item in todo):
        files.append((name, size, mtime, cid, problem, validated))
        if row is not None:
            rows.append({"root": root, "name": name, **row})
    return Chunk(files, pa.Table.from_pylist(rows, schema=_rows_schema()) if rows else None)


@contextlib.contextmanager
def _pool(n_files: int):
    """Worker processes for a large scan, or None: few files, one core, or no processes allowed here. Forked
    (Linux's default for Python 3.11): workers inherit the compiled validator and run only pure functions."""
    workers = min(os.cpu_count() or 1, 8)
    if n_files < PARALLEL_MIN_FILES or workers < 2:
        yield None
        return
    import concurrent.futures
    import multiprocessing

    _fast_validator()  # compiled once here; forked workers inherit it
    try:
        pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    except (OSError, RuntimeError, ValueError):
        yield None
        return
    with pool:
        yield pool


def _index_chunks(root: Path, todo: list, pool=None):
    """Chunk results, in order, as they are ready: with a pool, every chunk is handed to the workers at once
    and the parent inserts each finished chunk while the workers go on (the parent never waits for a whole
    batch, the workers never wait for the parent's inserts)."""
    chunks = [todo[i:i + CHUNK_FILES] for i in range(0, len(todo), CHUNK_FILES)]
    done = 0
    if pool is not None and len(chunks) > 1:
        import concurrent.futures

        try:
            for result in pool.map(_index_chunk, [str(root)] * len(chunks), chunks):
                done += 1
                yield result
        except (OSError, concurrent.futures.process.BrokenProcessPool):  # workers died: do the rest here
            pass
    for chunk in chunks[done:]:
        yield _index_chunk(str(root), chunk)


class RecordIndex:
    """The index for one ordered list of sources (data.Source)."""

    def __init__(self, sources, path: Path | None = None):
        self.sources = list(sources)
        self.path = Path(path) if path else default_index_path(self.sources)
        self._lock = threading.Lock()   # one refresh at a time within a process (Streamlit sessions are threads)
        self._seen: dict[str, int | None] = {}   # root -> directory mtime at this process's last look
        self.validations = 0                      # total schema validations done by this object (tests read it)
        self._snapshot: Snapshot | None = None

    # -- cheap check -----------------------------------------------------------------------------
    def stale(self) -> bool:
        """Has any store directory changed (one stat per store) since this process last refreshed?"""
        if self._snapshot is None:
            return True
        return any(_dir_mtime(Path(s.root)) != self._seen.get(str(s.root)) for s in self.sources)

    def snapshot(self) -> Snapshot:
        """The current rows and problems, refreshing the index first if a store directory changed."""
        with self._lock:
            if self.stale():
                self.refresh()
            return self._snapshot

    # -- incremental build ----------------------------------------------------------------------
    def refresh(self, force: bool = False) -> RefreshStats:
        """Bring the index up to date with the stores and reload the snapshot. force: rescan every store
        even if its directory mtime did not change (catches in-place edits); rebuild: see rebuild()."""
        started = time.perf_counter()
        stats = RefreshStats()
        con = _connect(self.path)
        try:
            _prepare(con)
            known_roots = {str(s.root) for s in self.sources}
            for (root,) in con.execute("SELECT DISTINCT root FROM files").fetchall():
                if root not in known_roots:  # an index shared by path with other stores: forget theirs
                    con.execute("DELETE FROM files WHERE root = ?", [root])
                    con.execute("DELETE FROM rows WHERE root = ?", [root])
            for source in self.sources:
                root = Path(source.root)
                mtime = _dir_mtime(root)
                stored = con.execute("SELECT dir_mtime_ns FROM stores WHERE root = ?", [str(root)]).fetchone()
                if not force and stored is not None and stored[0] == mtime and mtime is not None:
                    self._seen[str(root)] = mtime
                    continue
                self._scan(con, source, stats)
                con.execute("INSERT OR REPLACE INTO stores VALUES (?, ?)", [str(root), mtime])
                self._seen[str(root)] = mtime
                stats.scanned_stores += 1
            stats.invalid = con.execute("SELECT count(*) FROM files WHERE NOT valid").fetchone()[0]
            self._snapshot = self._read(con)
        finally:
            con.close()
        stats.seconds = time.perf_counter() - started
        return stats

    def rebuild(self) -> RefreshStats:
        """Forget everything and validate every file again."""
        con = _connect(self.path)
        try:
            for table in ("rows", "files", "stores", "meta"):
                con.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            con.close()
        return self.refresh(force=True)

    def _scan(self, con, source, stats: RefreshStats) -> None:
        root = Path(source.root)
        listing = _listing(root)
        known = {name: (size, mtime, cid, valid) for name, size, mtime, cid, valid in con.execute(
            "SELECT name, size, mtime_ns, content_id, valid FROM files WHERE root = ?", [str(root)]).fetchall()}
        gone = [[str(root), name] for name in known if name not in listing]
        if gone:
            con.executemany("DELETE FROM files WHERE root = ? AND name = ?", gone)
            con.executemany("DELETE FROM rows WHERE root = ? AND name = ?", gone)
            stats.removed += len(gone)
        todo = [(name, size, mtime, known[name][2] if name in known else None)
                for name, (size, mtime) in sorted(listing.items())
                if name not in known or known[name][:2] != (size, mtime)]
        with _pool(len(todo)) as pool:
            for chunk in _index_chunks(root, todo, pool):  # chunk by chunk: memory stays flat however large
                self._insert(con, root, known, chunk, stats)

    def _insert(self, con, root: Path, known: dict, chunk: Chunk, stats: RefreshStats) -> None:
        import pyarrow as pa

        new_files, touched = [], []
        for name, size, mtime, cid, problem, validated in chunk.files:
            if validated is None:  # same content as indexed: the verdict stands
                touched.append([size, mtime, str(root), name])
                stats.rehashed += 1
                continue
            if validated:
                self.validations += 1
                stats.validated += 1
            new_files.append({"root": str(root), "name": name, "size": size, "mtime_ns": mtime, "content_id": cid,
                              "valid": problem is None, "message": problem})
        if touched:
            con.executemany("UPDATE files SET size = ?, mtime_ns = ? WHERE root = ? AND name = ?", touched)
        replaced = [[f["root"], f["name"]] for f in new_files if f["name"] in known]
        if replaced:
            con.executemany("DELETE FROM files WHERE root = ? AND name = ?", replaced)
            con.executemany("DELETE FROM rows WHERE root = ? AND name = ?", replaced)
        if new_files:
            files_table = pa.Table.from_pylist(new_files, schema=_files_schema())  # noqa: F841 (read by DuckDB)
            con.execute("INSERT INTO files SELECT * FROM files_table")
        if chunk.rows is not None:
            rows_table = chunk.rows  # noqa: F841 (read by DuckDB)
            con.execute("INSERT INTO rows SELECT * FROM rows_table")

    def _read(self, con) -> Snapshot:
        """Rows of every source in source order (the first source wins a duplicate id), and the problems."""
        snap = Snapshot()
        order = {str(s.root): i for i, s in enumerate(self.sources)}
        labels = {str(s.root): s.label for s in self.sources}
        df = con.execute("SELECT * FROM rows").df()
        df["source"] = df["root"].map(labels)
        df["_order"] = df["root"].map(order)
        df = df.sort_values(["_order", "name"], kind="stable")
        for root, n in df.groupby("root").size().items():
            snap.counts[root] = int(n)
        df = df.drop_duplicates("id", keep="first").drop(columns=["_order"]).rename(columns={"name": "file"})
        snap.rows = df.reset_index(drop=True)
        bad = con.execute("SELECT root, name, message FROM files WHERE NOT valid").fetchall()
        for root, name, message in sorted(bad, key=lambda b: (order.get(b[0], len(order)), b[1])):
            snap.problems.append((labels.get(root, "?"), name, message or f"{name}: invalid"))
        for source in self.sources:
            snap.counts.setdefault(str(source.root), 0)
        return snap


def _files_schema():
    import pyarrow as pa
    return pa.schema([("root", pa.string()), ("name", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
                      ("content_id", pa.string()), ("valid", pa.bool_()), ("message", pa.string())])


def _rows_schema():
    import pyarrow as pa
    return pa.schema([("root", pa.string()), ("name", pa.string()), *flat.arrow_fields()])
