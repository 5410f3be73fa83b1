"""Every published record renders as it did when the golden fixture was captured (issue 18: refactors keep
behaviour): the board's flat rows, the board's display tables (accuracy tracks and the speed-tracks page)
and the README's results and speed tables.

Rows are matched by a key that does not involve the record id (a schema migration re-hashes records, which
changes ids but must not change what is shown). Columns added after the capture are allowed; every captured
column must render the same (numbers to 12 significant digits: the board shows at most 4 decimals).

The records are those of leaderboard/results (the speed records were published there from docs/speed-records,
which this test also still reads if it exists, so moving files between the two changes nothing here). After an *intended* change (a new
published record, a deliberate change of what the board shows), re-capture and review the diff:

    python -m tests.leaderboard.test_rendering_golden --write
"""
from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden") / "rendering.json"
RECORD_DIRS = (REPO / "leaderboard" / "results", REPO / "docs" / "speed-records")
ID_COLUMNS = {"id", "file", "link", "source", "verdict_of"}  # ids: replaced by stable keys


def _collect(tmp: Path) -> Path:
    """Every record file of RECORD_DIRS in one directory."""
    root = tmp / "records"
    root.mkdir(parents=True, exist_ok=True)
    for folder in RECORD_DIRS:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            shutil.copyfile(path, root / path.name)
    return root


def _stable_key(record: dict) -> str:
    cfg = record["config"]
    return json.dumps([record.get("kind", "run"), record["status"], record["created_utc"], cfg["track"],
                       cfg["target"], cfg["method"], cfg.get("method_params") or {}, cfg.get("seed"),
                       (record.get("provenance") or {}).get("session")], sort_keys=True, default=str)


def _plain(value):
    """JSON-able cell: NaN/NA -> None, numpy scalars -> Python."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    try:
        if value is None or value != value:
            return None
    except (TypeError, ValueError):  # pandas.NA
        return None
    return value


def render_all(tmp: Path) -> dict:
    """What the board and the README show for every record (rows keyed by stable keys)."""
    from leaderboard import app, data, readme_table
    from suite.records.store import RecordStore

    root = _collect(tmp)
    records = RecordStore(root).records()
    key_of = {r["id"]: _stable_key(r) for r in records}
    assert len(set(key_of.values())) == len(key_of), "two records share a stable key"
    df = data.frame(data.load([data.Source("published", root)]))

    def rows_of(table) -> dict:
        out = {}
        for position, (_, row) in enumerate(table.iterrows()):
            cells = {c: _plain(row[c]) for c in table.columns if c not in ID_COLUMNS}
            if "verdict_of" in table.columns:
                cells["verdict_of"] = key_of.get(row["verdict_of"], row["verdict_of"] or None)
            cells["_position"] = position
            out[key_of[row["id"]]] = cells
        return out

    filters = data.Filters()
    rows, hidden = data.board_rows(df, filters)
    board_table, _ = app._table(rows, [], compact=False, flat=True)
    speed = data.speed_rows(df, filters)
    speed_tables = {}
    for (track, target), group in speed.groupby(["track", "target"], sort=True):
        table, _ = app._table(group, [], compact=False, flat=False, limit=app.BOARD_TOP, speed=True)
        speed_tables[f"{track} · {target}"] = rows_of(table)
    return {
        "frame": rows_of(df),
        "board": {"hidden_below_accuracy": hidden, "rows": rows_of(board_table)},
        "speed_page": speed_tables,
        "failed": sorted(key_of[i] for i in data.failed_rows(df, filters)["id"]),
        "readme_table": readme_table.build_table(root),
        "readme_speed_table": readme_table.build_speed_table(root),
    }


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _row_differences(where: str, golden: dict, now: dict) -> list[str]:
    problems = []
    missing, added = sorted(set(golden) - set(now)), sorted(set(now) - set(golden))
    problems += [f"{where}: row no longer shown: {k}" for k in missing]
    problems += [f"{where}: row not shown before: {k}" for k in added]
    for key in sorted(set(golden) & set(now)):
        for column, value in golden[key].items():
            if column not in now[key]:
                problems.append(f"{where}: {key}: column {column!r} is gone")
            elif not _same(value, now[key][column]):
                problems.append(f"{where}: {key}: {column} was {value!r}, now {now[key][column]!r}")
    return problems


def test_every_published_record_renders_as_captured(tmp_path):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(render_all(tmp_path), default=str))
    problems = _row_differences("frame", golden["frame"], now["frame"])
    problems += _row_differences("board", golden["board"]["rows"], now["board"]["rows"])
    if golden["board"]["hidden_below_accuracy"] != now["board"]["hidden_below_accuracy"]:
        problems.append(f"board: hidden below the accuracy gate was {golden['board']['hidden_below_accuracy']}, "
                        f"now {now['board']['hidden_below_accuracy']}")
    if set(golden["speed_page"]) != set(now["speed_page"]):
        problems.append(f"speed page tables were {sorted(golden['speed_page'])}, now {sorted(now['speed_page'])}")
    for name in set(golden["speed_page"]) & set(now["speed_page"]):
        problems += _row_differences(f"speed page {name}", golden["speed_page"][name], now["speed_page"][name])
    if golden["failed"] != now["failed"]:
        problems.append("failed runs listed differ")
    for table in ("readme_table", "readme_speed_table"):
        if golden[table] != now[table]:
            import difflib
            diff = "\n".join(difflib.unified_diff(golden[table].splitlines(), now[table].splitlines(), "golden",
                                                  "now", lineterm="", n=0))
            problems.append(f"{table} differs:\n{diff}")
    assert not problems, ("rendering changed (intended? re-capture with `python -m tests.leaderboard."
                          "test_rendering_golden --write` and review the diff):\n" + "\n".join(problems[:40]))


def test_golden_covers_every_published_record(tmp_path):
    """The fixture is not vacuous: it holds a row for every record file, the board shows rows, and the
    README table has them."""
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    n_files = len({p.name for d in RECORD_DIRS if d.is_dir() for p in d.glob("*.json")})
    assert len(golden["frame"]) == n_files > 100
    assert len(golden["board"]["rows"]) > 50 and golden["speed_page"]
    assert golden["readme_table"].count("\n") > 50


if __name__ == "__main__":
    import tempfile

    if "--write" not in sys.argv:
        sys.exit("usage: python -m tests.leaderboard.test_rendering_golden --write")
    with tempfile.TemporaryDirectory() as tmp:
        captured = render_all(Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(captured, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n",
                      encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(REPO)}: {len(captured['frame'])} records")
