"""Leaderboard fixtures: one store of real harness records (digits-mlp, quick latency loops) per test
session, made by tests/leaderboard/make_records.py, and an AppTest factory pointed at chosen stores."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "leaderboard" / "app.py"


@pytest.fixture(scope="session")
def record_store(tmp_path_factory) -> Path:
    """fp32 + fixture pruning/int8 methods on cpu and edge, one failed run, one reproduction (7 records)."""
    from tests.leaderboard.make_records import make_records

    root = tmp_path_factory.mktemp("leaderboard-records")
    make_records(root / "store", root / "work", memory=True, quick=True)
    shutil.rmtree(root / "work", ignore_errors=True)
    return root / "store"


@pytest.fixture(scope="session")
def records(record_store) -> list[dict]:
    from suite.records.store import RecordStore
    return RecordStore(record_store).records()


@pytest.fixture
def app(monkeypatch, tmp_path):
    """app(published=DIR or None, stores=[DIRS], view=..., **query) -> a run AppTest."""
    from streamlit.testing.v1 import AppTest

    def make(published: Path | None = None, stores: list[Path] | None = None, view: str | None = None,
             run: bool = True, **query):
        monkeypatch.setenv("SLIMBENCH_LEADERBOARD_PUBLISHED", str(published) if published else "")
        empty = tmp_path / "empty-local-store"
        monkeypatch.setenv("SLIMBENCH_LEADERBOARD_STORES", os.pathsep.join(str(s) for s in (stores or [empty])))
        monkeypatch.setenv("SLIMBENCH_LEADERBOARD_INDEX", str(tmp_path / "leaderboard-index.duckdb"))
        at = AppTest.from_file(str(APP), default_timeout=60)
        if view:
            at.query_params["view"] = view
        for key, value in query.items():
            at.query_params[key] = value
        return at.run() if run else at
    return make
