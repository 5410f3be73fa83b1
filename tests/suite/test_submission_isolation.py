"""Submitted methods run isolated: hostile ones end as failed records with a clear reason, the session
goes on, and every file that was in the store before is byte-identical afterwards (no partial files)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from suite.harness import RunSpec, Session
from suite.measure.latency import QUICK
from suite.records.store import validate
from suite.submission import sandbox
from suite.submission.isolation import IsolationSettings
from suite.submission.launcher import isolated

HOSTILE = Path(__file__).with_name("hostile_methods.py")

# Submitted code runs only in the bubblewrap sandbox (tests/setup_test_env.py installs it). Without it these
# tests skip and say so, except under CI, which must prove the sandbox.
pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None and not os.environ.get("CI"),
                                reason=f"no sandbox here: {sandbox.unavailable_reason()}")


BOOKKEEPING = (".slimbench-store.lock", ".slimbench-store.journal")  # the store's lock and journal


def store_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in BOOKKEEPING}


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory):
    """A store that already holds a real record (fp32 on digits-mlp / cpu)."""
    root = tmp_path_factory.mktemp("seed") / "store"
    Session(root, settings=QUICK, workdir=root.parent / "work", measure_memory=False).run(
        RunSpec("digits-mlp", "fp32", "cpu"))
    return root


@pytest.fixture
def session(tmp_path, seeded_store, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the parent's cwd holds the store (./store) and a ./results
    shutil.copytree(seeded_store, tmp_path / "store")
    shutil.copytree(seeded_store, tmp_path / "results")
    return Session(tmp_path / "store", settings=QUICK, workdir=tmp_path / "work", measure_memory=False,
                   applier=isolated(IsolationSettings(wall_time_s=300, extra_guard_dirs=(tmp_path / "results",))))


def run_hostile(session, cls: str, **isolation):
    if isolation:
        session.applier = isolated(IsolationSettings(**{"extra_guard_dirs": session.applier.settings.extra_guard_dirs,
                                                         **isolation}))
    before = {root: store_bytes(root) for root in (session.store.root, *session.applier.settings.extra_guard_dirs)}
    record = session.run(RunSpec("digits-mlp", f"{HOSTILE}:{cls}", "cpu"))
    validate(record)
    assert record["status"] == "failed", record.get("results")
    assert record["error"]["phase"] == "method"
    for root, files in before.items():
        after = store_bytes(root)
        new = set(after) - set(files)
        expected_new = {f"{record['id']}.json"} if root == session.store.root else set()
        assert new == expected_new, f"unexpected files in {root}: {new - expected_new}"
        assert {k: after[k] for k in files} == files, f"pre-existing files in {root} changed"
        assert not [n for n in after if Path(n).name.startswith(".")], "partial (temp) files left behind"
    return record


def test_reading_the_test_split_fails_in_the_worker(session):
    record = run_hostile(session, "ReadsTestSplit")
    # the sandbox has no dataset at all (scikit-learn's bundled digits file is hidden too)
    assert "No such file or directory" in record["error"]["message"]
    assert "digits.csv.gz" in record["error"]["message"]
    assert "Traceback" in record["error"]["traceback"]  # the worker's traceback travels with it


def test_exceeding_the_wall_time_limit_kills_the_worker(session):
    record = run_hostile(session, "Sleeps", wall_time_s=6)
    assert record["error"]["type"] == "MethodTimeoutError"
    assert "exceeded its wall-time limit of 6 s" in record["error"]["message"]


def test_allocating_beyond_the_memory_limit_fails(session):
    record = run_hostile(session, "AllocatesTooMuch")
    assert record["error"]["type"] in ("MethodMemoryError", "MethodCrashedError")
    assert "4096 MB" in record["error"]["message"]


def test_a_raising_method_gives_its_exception(session):
    record = run_hostile(session, "Raises")
    assert record["error"]["type"] == "SubmittedMethodError"
    assert "ValueError: this method always fails" in record["error"]["message"]


def test_a_crashing_worker_is_a_failed_record(session):
    record = run_hostile(session, "ExitsHard")
    assert record["error"]["type"] == "MethodCrashedError"
    assert "exited with status 3" in record["error"]["message"]


def test_writing_to_the_store_reaches_only_the_sandbox(session):
    """The method looks for the store everywhere it could guess (cwd, the parent's cwd through /proc): inside
    the sandbox there is none, so its only 'success' is a directory in its own scratch dir. The record is ok
    (the method did nothing wrong that it could do), and run_hostile-style checks show the stores untouched.
    Undoing real store writes is tested on the guard itself (test_records_hardening.py)."""
    before = {root: store_bytes(root) for root in (session.store.root, *session.applier.settings.extra_guard_dirs)}
    record = session.run(RunSpec("digits-mlp", f"{HOSTILE}:WritesToStore", "cpu"))
    assert record["status"] == "ok", record.get("error")
    # /proc/1/cwd is bwrap's reaper's working directory: /sandbox as well; the root file system is read-only
    assert set(record["results"]["method_info"]["wrote_to"]) <= {"/sandbox/results", "/proc/1/cwd/results",
                                                                 "/proc/1/cwd/store"}
    for root, files in before.items():
        after = store_bytes(root)
        assert {k: after[k] for k in files} == files
        assert set(after) - set(files) <= {f"{record['id']}.json"}


def test_the_network_is_unreachable(session):
    record = run_hostile(session, "UsesNetwork")  # no DNS, no route: the sandbox has only its own loopback
    assert "gaierror" in record["error"]["message"] or "Network is unreachable" in record["error"]["message"]


def test_non_determinism_beyond_tolerance_fails(session):
    record = run_hostile(session, "NonDeterministic", check_determinism=True, determinism_tol=0.0)
    assert record["error"]["type"] == "NonDeterminismError"
    assert "not deterministic" in record["error"]["message"]


def test_the_session_goes_on_after_hostile_methods(session):
    run_hostile(session, "Raises")
    assert session.run(RunSpec("digits-mlp", "fp32", "cpu"))["status"] == "ok"


def test_a_well_behaved_submitted_method_runs_isolated(session):
    example = Path(__file__).resolve().parents[2] / "examples" / "submission" / "neuron_prune.py"
    session.applier = isolated(IsolationSettings(check_determinism=True))
    record = session.run(RunSpec("digits-mlp", f"{example}:NeuronPrune", "cpu", params={"keep_ratio": "0.5"}))
    assert record["status"] == "ok", record.get("error")
    info = record["results"]["method_info"]
    assert info["isolated"]["memory_limit_mb"] == 4096 and info["isolated"]["wall_limit_s"] == 120
    assert info["determinism"]["identical_bytes"] is True
    assert record["config"]["method_params"] == {"keep_ratio": 0.5, "finetune": True}
    assert len(record["config"]["method_source_sha256"]) == 64
    assert record["results"]["size"]["params"] < 17226  # neurons were removed
