"""Suites on a Ray cluster (`slimbench run --suite S --executor ray`) and resume by run key, for both executors.

The tests marked `ray` start a real cluster on this machine (a head and a worker node, separate `ray start`
processes, see tests/suite/ray_cluster.py), drive it with the real CLI in a subprocess, and kill nodes and
drivers with SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suite.records.store import RecordStore

REPO = Path(__file__).resolve().parents[2]
RUN_PROCESS = "suite.executors.node_run"  # the command line of a run on a node


def quick_keyed_session(store: Path, work: Path):
    from suite.executors.plan import KeyedSession
    from suite.measure.latency import QUICK
    from suite.submission.launcher import isolated
    # as the CLI makes the driver's session: submitted code is described and run isolated, never in-process
    return KeyedSession(store, settings=QUICK, workdir=work, measure_memory=False, applier=isolated())


def suite_keys(name: str, seeds=None) -> list[str]:
    """The run keys `slimbench run --suite NAME --quick --no-memory [--seeds]` plans."""
    from suite.executors.plan import run_key, with_seeds
    from suite.measure.latency import QUICK
    from suite.suites import get_suite
    return [run_key(spec, "run", QUICK, False) for spec in with_seeds(get_suite(name), seeds)]


def records_by_key(store: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in RecordStore(store).records():
        out.setdefault(record["config"].get("run_key"), []).append(record)
    return out


# -- run keys, seeds, resume (local executor): no cluster -------------------------------------------------------

def test_run_key_names_the_configuration_not_the_machine_or_time():
    from suite.executors.plan import run_key
    from suite.harness import RunSpec
    from suite.measure.latency import QUICK, LatencySettings

    spec = RunSpec("digits-mlp", "ort-int8-static", "cpu", 0, {"calibration_method": "minmax"})
    key = run_key(spec, "run", QUICK, False)
    assert key == run_key(RunSpec("digits-mlp", "ort-int8-static", "cpu", 0, {"calibration_method": "minmax"}),
                          "run", QUICK, False)
    others = {run_key(RunSpec("digits-mlp", "ort-int8-static", "cpu", 1, spec.params), "run", QUICK, False),
              run_key(RunSpec("digits-mlp", "ort-int8-static", "edge", 0, spec.params), "run", QUICK, False),
              run_key(RunSpec("digits-mlp", "ort-int8-static", "cpu", 0, {}), "run", QUICK, False),
              run_key(spec, "run", LatencySettings(), False), run_key(spec, "run", QUICK, True),
              run_key(spec, "reproduction", QUICK, False)}
    assert key not in others and len(others) == 6
    assert len(key) == 16 and int(key, 16) >= 0


def test_run_key_survives_a_settings_field_added_later_and_defaults_a_track_overrides(tmp_path):
    """A store keyed before `subsessions` existed still resumes (a field at its prior behaviour stays out of the
    key; another value enters it), and a speed track, timed with its own settings, keeps its keys when a
    session default it overrides changes."""
    from dataclasses import replace

    from suite.executors.plan import KeyedSession, run_key
    from suite.harness import RunSpec
    from suite.measure.latency import QUICK, LatencySettings
    from suite.tracks import TRACKS

    assert "subsessions" not in replace(QUICK, subsessions=1).key_dict()
    assert replace(QUICK, subsessions=4).key_dict()["subsessions"] == 4
    spec = RunSpec("digits-mlp", "fp32", "cpu", 0, {})
    one, four = replace(QUICK, subsessions=1), replace(QUICK, subsessions=4)
    assert run_key(spec, "run", one, False) != run_key(spec, "run", four, False)

    speed = RunSpec("speed-mobilenetv2", "fp32", "cpu", 0, {})
    own = TRACKS.get("speed-mobilenetv2").latency_settings
    session = KeyedSession(tmp_path / "store", settings=LatencySettings(), workdir=tmp_path / "work")
    assert session.key(speed) == run_key(speed, "run", own, True)       # timed with, and keyed by, the track's own
    assert session.key(spec) == run_key(spec, "run", LatencySettings(), True)
    explicit = KeyedSession(tmp_path / "store", settings=QUICK, workdir=tmp_path / "work")
    assert explicit.key(speed) == run_key(speed, "run", QUICK, True)     # a session that overrides: its settings


def test_seeds_expand_every_run_and_bad_seeds_are_refused():
    from suite.errors import ConfigError
    from suite.executors.plan import parse_seeds, with_seeds
    from suite.suites import get_suite

    specs = with_seeds(get_suite("smoke"), parse_seeds("0,1,2"))
    assert [(s.target, s.seed) for s in specs] == [("cpu", 0), ("edge", 0), ("cpu", 1), ("edge", 1),
                                                   ("cpu", 2), ("edge", 2)]
    assert len(set(suite_keys("smoke", [0, 1, 2]))) == 6
    for bad in ("", "0,x", "1,1"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)


def test_a_resumed_local_suite_runs_only_the_missing_runs(tmp_path, monkeypatch, capsys):
    from suite.commands.run import run_suite
    from suite.harness import Session

    store = tmp_path / "store"
    session = quick_keyed_session(store, tmp_path / "work")
    assert run_suite(session, "smoke") == 0
    first = {p.name: p.read_bytes() for p in RecordStore(store).paths()}
    assert sorted(records_by_key(store)) == sorted(suite_keys("smoke"))

    # As after a killed driver: one record is there, one is missing. Only the missing one may run.
    edge = next(r for r in RecordStore(store).records() if r["config"]["target"] == "edge")
    (store / f"{edge['id']}.json").unlink()
    ran = []
    real_run = Session.run
    monkeypatch.setattr(Session, "run", lambda self, spec: ran.append(spec) or real_run(self, spec))
    capsys.readouterr()
    assert run_suite(quick_keyed_session(store, tmp_path / "work2"), "smoke") == 0
    assert [(s.track, s.method, s.target, s.seed) for s in ran] == [("digits-mlp", "fp32", "edge", 0)]
    out = capsys.readouterr().out
    assert "resume: 1 of 2 run(s) already recorded" in out and "1 new record(s), 1 already recorded" in out
    by_key = records_by_key(store)
    assert sorted(by_key) == sorted(suite_keys("smoke")) and all(len(v) == 1 for v in by_key.values())
    assert all(store.joinpath(name).read_bytes() == data for name, data in first.items() if name != f"{edge['id']}.json")

    # Everything recorded: nothing runs; --no-resume measures again.
    ran.clear()
    assert run_suite(quick_keyed_session(store, tmp_path / "work3"), "smoke") == 0 and ran == []
    assert run_suite(quick_keyed_session(store, tmp_path / "work4"), "smoke", resume=False) == 0 and len(ran) == 2
    assert sum(len(v) for v in records_by_key(store).values()) == 4


def test_cli_refuses_ray_flags_where_they_do_not_apply(capsys):
    from suite.cli import main

    assert main(["run", "--track", "digits-mlp", "--method", "fp32", "--target", "cpu", "--executor", "ray"]) == 2
    assert "apply to suites (--suite NAME)" in capsys.readouterr().err
    assert main(["run", "--suite", "smoke", "--max-retries", "3"]) == 2
    assert "--max-retries only apply with --executor ray" in capsys.readouterr().err


def test_an_unreachable_cluster_is_a_clear_error_not_a_hang(capsys):
    pytest.importorskip("ray", reason="the `dist` extra (ray) is not installed")
    from suite.cli import main
    from tests.suite.ray_cluster import free_port

    started = time.time()
    assert main(["run", "--suite", "smoke", "--executor", "ray", "--ray-address", f"127.0.0.1:{free_port()}"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach a Ray cluster at '127.0.0.1:" in err and "ray start --head" in err
    assert time.time() - started < 60


def test_node_progress_line_counts_done_running_failed_per_node():
    from suite.executors.progress import NodeTally

    tally = NodeTally()
    tally.started("k1", {"node_id": "aaaaaa11", "hostname": "gpu-1"})
    tally.started("k2", {"node_id": "bbbbbb22", "hostname": "gpu-2"})
    tally.finished("k1", ok=True)
    tally.started("k3", {"node_id": "aaaaaa11", "hostname": "gpu-1"})
    tally.finished("k2", ok=False)  # node gpu-2 died, retries used up
    assert tally.summary() == "gpu-1: 1 done, 1 running, 0 failed | gpu-2: 0 done, 0 running, 1 failed"
    tally.started("k4", {"node_id": "cccccc33", "hostname": "gpu-1"})  # two nodes on one machine: ids shown
    assert tally.label("aaaaaa11") == "gpu-1/aaaaaa" and tally.label("cccccc33") == "gpu-1/cccccc"
    # Ray's own attempt number (0-based) counts an attempt whose start report was lost with its node.
    tally.finished("k3", ok=True, where={"node_id": "aaaaaa11", "hostname": "gpu-1", "attempt": 1})
    assert tally.attempts["k3"] == 2 and tally.attempts["k4"] == 1


# -- the task body on a node that cannot run: runs for real, without Ray ---------------------------------------

def _payload(tmp_path, track="digits-mlp", target="cpu") -> dict:
    import suite
    from suite.executors.plan import run_key
    from suite.harness import RunSpec
    from suite.measure.latency import QUICK
    spec = RunSpec(track, "fp32", target, 0)
    return {"spec": {"track": track, "method": "fp32", "target": target, "seed": 0, "params": {}},
            "run_key": run_key(spec, "run", QUICK, False), "kind": "run", "latency_settings": QUICK.to_dict(),
            "measure_memory": False, "slimbench_version": suite.__version__, "cwd": str(tmp_path), "env": {}}


def test_a_node_without_the_project_says_so(tmp_path, monkeypatch):
    from suite.executors.ray_remote import run_on_node

    monkeypatch.delenv("PYTHONPATH", raising=False)
    base_python = getattr(sys, "_base_executable", None)  # the interpreter below the virtual environment
    if not base_python or subprocess.run([base_python, "-c", "import suite"], cwd=tmp_path,
                                         capture_output=True).returncode == 0:
        pytest.skip("needs a Python without slimbench (tests run from a virtual environment)")
    result = run_on_node(_payload(tmp_path), python=base_python)
    assert result["outcome"] == "setup_error"
    assert "slimbench is not installed" in result["message"] and "pip install -e" in result["message"]


def test_a_node_without_the_datasets_fails_the_task_with_that_message(tmp_path, monkeypatch):
    from suite.executors.ray_remote import run_on_node

    empty = tmp_path / "empty"
    empty.mkdir()
    payload = _payload(tmp_path, track="mnist-lenet300")
    payload["env"] = {"SLIMBENCH_DATA": str(empty), "SLIMBENCH_CACHE": str(empty), "SLIMBENCH_OFFLINE": "1"}
    started = time.time()
    result = run_on_node(payload)
    assert time.time() - started < 240  # fails, does not hang
    assert result["outcome"] == "setup_error", result
    assert "cannot reach the datasets of track 'mnist-lenet300'" in result["message"]
    assert "SLIMBENCH_DATA" in result["message"]


# -- a real cluster ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray", reason="the `dist` extra (ray) is not installed")
    from tests.suite.ray_cluster import LocalRayCluster

    cluster = LocalRayCluster()
    try:
        cluster.start_head()
        cluster.worker = cluster.add_worker()
        yield cluster
    finally:
        cluster.stop()


def slimbench(cluster, store: Path, cwd: Path, *extra: str, popen: bool = False, env: dict | None = None):
    command = [sys.executable, "-m", "suite.cli", "run", "--suite", "smoke", "--quick", "--no-memory",
               "--store", str(store), "--executor", "ray", "--ray-address", cluster.address, *extra]
    env = dict(cluster.env, PYTHONPATH=str(REPO), **(env or {}))
    if popen:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def in_process_driver(cluster, monkeypatch, tmp_path):
    """This test process as the driver (ray.init here; the test calls ray.shutdown)."""
    for name, value in cluster.env.items():
        if name.startswith("RAY_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return quick_keyed_session(tmp_path / "store", tmp_path / "work")


def assert_no_overlap_per_node(records: list[dict]) -> None:
    """Two measurements never overlapped on one node."""
    by_node: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        executor = record["provenance"]["executor"]
        by_node.setdefault(executor["node_id"], []).append((executor["started_at"], executor["finished_at"]))
    for spans in by_node.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans


@pytest.mark.ray
def test_smoke_suite_on_ray_matches_the_local_executor(cluster, tmp_path):
    from suite.commands.run import run_suite

    local = tmp_path / "local"
    assert run_suite(quick_keyed_session(local, tmp_path / "work"), "smoke") == 0
    started = time.time()
    done = slimbench(cluster, tmp_path / "ray", tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    elapsed = time.time() - started

    local_records, ray_records = records_by_key(local), records_by_key(tmp_path / "ray")
    assert sorted(ray_records) == sorted(local_records) == sorted(suite_keys("smoke"))  # same record set
    for key, [on_ray] in ray_records.items():
        [here] = local_records[key]
        for field in ("track", "method", "target", "seed", "method_params", "budget", "latency_settings"):
            assert on_ray["config"][field] == here["config"][field], field
        assert on_ray["status"] == here["status"] == "ok"
        for field in ("accuracy", "accuracy_fp32", "test_samples", "prediction_agreement_fp32"):
            assert on_ray["results"][field] == here["results"][field], field  # same numbers, bit for bit
        assert on_ray["results"]["size"]["params"] == here["results"]["size"]["params"]
        prov = on_ray["provenance"]
        assert prov["executor"]["name"] == "ray" and prov["executor"]["node_id"] and prov["executor"]["attempts"] == 1
        assert prov["hostname"] and prov["cpu"]["model"] and prov["cpu"]["machine"] and "flags" in prov["cpu"]
        assert prov["threads"], "the runtime's thread count is recorded"
    # OMP_NUM_THREADS that Ray sets for its workers does not leak into the run: the threads are the local ones.
    assert {k: r[0]["provenance"]["threads"] for k, r in ray_records.items()} == \
        {k: r[0]["provenance"]["threads"] for k, r in local_records.items()}
    assert_no_overlap_per_node([r for [r] in ray_records.values()])
    assert "done" in done.stderr and "running" in done.stderr and "failed" in done.stderr  # the per-node bar
    print(f"smoke on ray: {elapsed:.0f} s")


@pytest.mark.ray
@pytest.mark.slow  # 30-45 s of SIGKILLs and retries: `make test-slow` (keeps the default run under ~15 min)
def test_killing_the_driver_then_rerunning_runs_only_the_missing_runs(cluster, tmp_path):
    store = tmp_path / "store"
    keys = suite_keys("smoke", [0, 1])
    driver = slimbench(cluster, store, tmp_path, "--seeds", "0,1", popen=True)
    try:
        deadline = time.time() + 400
        while time.time() < deadline and not RecordStore(store).paths() and driver.poll() is None:
            time.sleep(0.1)
        assert RecordStore(store).paths(), f"no record appeared:\n{driver.stdout.read()[-4000:] if driver.poll() is not None else ''}"
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and everything it started here
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    before = {p.name: p.read_bytes() for p in RecordStore(store).paths()}
    assert 1 <= len(before) < len(keys)

    # Ray kills the dead driver's tasks, and their runs die with them: no orphan keeps measuring on a node.
    deadline = time.time() + 60
    while time.time() < deadline and any(node.descendants_running(RUN_PROCESS) for node in cluster.nodes):
        time.sleep(0.5)
    assert not any(node.descendants_running(RUN_PROCESS) for node in cluster.nodes)

    again = slimbench(cluster, store, tmp_path, "--seeds", "0,1")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-5000:]
    assert f"resume: {len(before)} of {len(keys)} run(s) already recorded" in again.stdout
    assert f"{len(keys) - len(before)} new record(s), {len(before)} already recorded" in again.stdout
    assert again.stderr.count("ok: digits-mlp") == len(keys) - len(before)  # only the missing runs executed
    by_key = records_by_key(store)
    assert sorted(by_key) == sorted(keys) and all(len(v) == 1 for v in by_key.values())  # no duplicates
    assert all((store / name).read_bytes() == data for name, data in before.items())  # nothing lost or rewritten


@pytest.mark.ray
def test_submitted_methods_stay_isolated_on_the_nodes(cluster, tmp_path, monkeypatch):
    """A submitted method on a node goes through the same Session path as locally: its own sandboxed process."""
    import ray

    from suite.executors.ray_executor import RayExecutor
    from suite.harness import RunSpec

    session = in_process_driver(cluster, monkeypatch, tmp_path)
    hostile = REPO / "tests" / "suite" / "hostile_methods.py"
    example = REPO / "examples" / "submission" / "neuron_prune.py"
    specs = [RunSpec("digits-mlp", f"{hostile}:Raises", "cpu"),
             RunSpec("digits-mlp", f"{example}:NeuronPrune", "cpu", params={"keep_ratio": "0.5"})]
    try:
        outcome = RayExecutor(cluster.address).run(session, specs, [session.key(s) for s in specs], "isolation")
    finally:
        ray.shutdown()
    raises, prune = outcome.records
    assert raises["status"] == "failed" and raises["error"]["phase"] == "method"
    assert "this method always fails" in raises["error"]["message"]
    assert prune["status"] == "ok", prune.get("error")
    assert prune["results"]["method_info"]["isolated"]["memory_limit_mb"] == 4096  # the budget's limits held
    assert len(prune["config"]["method_source_sha256"]) == 64
    assert {r["provenance"]["executor"]["name"] for r in outcome.records} == {"ray"}
    assert sorted(p.name for p in RecordStore(tmp_path / "store").paths()) == \
        sorted(f"{r['id']}.json" for r in outcome.records)  # the driver wrote these two, nothing else did


@pytest.mark.ray
def test_a_run_that_keeps_crashing_is_retried_then_recorded_as_failed(cluster, tmp_path, monkeypatch):
    """Bounded retries, then a failed record with the reason; here the run's process cannot even start."""
    import ray

    from suite.executors.ray_executor import RayExecutor
    from suite.harness import RunSpec

    session = in_process_driver(cluster, monkeypatch, tmp_path)
    spec = RunSpec("digits-mlp", "fp32", "cpu")
    try:
        outcome = RayExecutor(cluster.address, max_retries=1, worker_env={"PYTHONHOME": "/nonexistent"}).run(
            session, [spec], [session.key(spec)], "crashing")
    finally:
        ray.shutdown()
    [record] = outcome.records
    assert record["status"] == "failed" and record["error"]["phase"] == "executor"
    assert record["error"]["type"] == "NodeRunCrashed"
    assert record["error"]["message"].startswith("gave up after 2 attempt(s) (--max-retries 1)")
    assert "exited with status" in record["error"]["message"] and "without a result" in record["error"]["message"]
    assert record["config"]["run_key"] == session.key(spec) and record["provenance"]["executor"]["attempts"] == 2
    assert [p.name for p in RecordStore(tmp_path / "store").paths()] == [f"{record['id']}.json"]


@pytest.mark.ray
@pytest.mark.slow  # 30-45 s of SIGKILLs and retries: `make test-slow` (keeps the default run under ~15 min)
def test_killing_a_worker_node_mid_suite_retries_its_run_elsewhere(cluster, tmp_path):
    """Runs last: the worker node does not come back.

    Deterministic, no sleep to race: with $SLIMBENCH_TEST_HOLD_RUNS every run's process announces itself and then
    waits for a go-ahead (suite/executors/node_run.py). Both nodes hold one of the two smoke runs; the worker node
    is killed while its run is certainly in flight, then the runs are let go. The killed run must be retried on
    the head and recorded once, with both attempts counted."""
    from suite.executors.node_run import HOLD_ENV

    store, hold = tmp_path / "store", tmp_path / "hold"
    hold.mkdir()
    worker = cluster.worker
    driver = slimbench(cluster, store, tmp_path, "--max-retries", "2", popen=True, env={HOLD_ENV: str(hold)})
    try:
        deadline = time.time() + 300
        while time.time() < deadline and len(list(hold.glob("*.started"))) < 2 and driver.poll() is None:
            time.sleep(0.1)
        started = [json.loads(p.read_text()) for p in hold.glob("*.started")]
        assert len(started) == 2, (started, driver.stdout.read()[-4000:] if driver.poll() is not None else "")
        on_worker = [s for s in started if s["pid"] in worker.descendants_running(RUN_PROCESS)]
        assert len(on_worker) == 1, (started, "each node holds one run")  # the other one is the head's
        worker.kill()  # mid-run: its run's process is alive, waiting for the go-ahead
        (hold / "release").touch()
        output, _ = driver.communicate(timeout=500)
    finally:
        (hold / "release").touch()
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert driver.returncode == 0, output[-6000:]
    by_key = records_by_key(store)
    assert sorted(by_key) == sorted(suite_keys("smoke")), output[-4000:]
    assert all(len(v) == 1 for v in by_key.values())  # every run exactly one record
    records = [r for [r] in by_key.values()]
    assert all(r["status"] == "ok" for r in records), [r.get("error") for r in records]
    attempts = {key: r["provenance"]["executor"]["attempts"] for key, [r] in by_key.items()}
    killed = on_worker[0]["run_key"]
    assert attempts == {key: 2 if key == killed else 1 for key in by_key}, [r["provenance"]["executor"] for r in records]
    assert len({r["provenance"]["executor"]["node_id"] for r in records}) == 1  # both measured on the head
    assert len(list(hold.glob("*.started"))) == 3  # the killed run's process started once more, elsewhere
    assert_no_overlap_per_node(records)
    assert output.count("(attempts: 2)") == 1 and output.count("(attempts: 1)") == 1, output[-4000:]
