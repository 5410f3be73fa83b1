"""`python -m suite.executors.node_run REQUEST.json RESULT.json`: one run on a cluster node.

Started by the Ray task (suite/executors/ray_remote.py) with the node's own Python. Runs the spec through the
same `Session.run` as the local executor (submitted methods stay isolated), in a private temporary store, and
writes {"outcome": ...} as JSON: "record" with the record, "not_run" when the harness refused the run before
recording (e.g. a target this node lacks), "setup_error" when the node cannot run it at all (other slimbench
version, datasets not reachable)."""
from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

# Fault injection for the executor tests, never set otherwise: a directory. Each run announces there that its
# process is up and waits for the test's go-ahead, so a test can kill a node while a run is certainly in flight.
HOLD_ENV = "SLIMBENCH_TEST_HOLD_RUNS"
HOLD_MAX_S = 600  # a forgotten go-ahead delays a run, it never hangs it


def execute(request: dict) -> dict:
    import suite
    from suite.errors import ChecksumError, DatasetUnavailableError, SlimBenchError
    from suite.executors.plan import KeyedSession
    from suite.harness import RunSpec
    from suite.measure.latency import LatencySettings
    from suite.submission.launcher import isolated

    host = socket.gethostname()
    wanted = request.get("slimbench_version")
    if wanted and wanted != suite.__version__:
        return {"outcome": "setup_error", "message": f"node {host} has slimbench {suite.__version__}, the driver "
                                                     f"{wanted}: install the same version on every node"}
    spec = RunSpec(**request["spec"])
    try:
        from suite.tracks import get_track
        get_track(spec.track).load_splits()  # the data must be here before anything is measured
    except (DatasetUnavailableError, ChecksumError) as exc:
        return {"outcome": "setup_error",
                "message": f"node {host} cannot reach the datasets of track {spec.track!r}: {exc}"}
    except SlimBenchError as exc:
        return {"outcome": "not_run", "message": f"{type(exc).__name__}: {exc}"}
    with tempfile.TemporaryDirectory(prefix="slimbench-run-") as tmp:
        session = KeyedSession(Path(tmp) / "store", settings=LatencySettings(**request["latency_settings"]),
                               workdir=Path(tmp) / "work", measure_memory=request["measure_memory"],
                               kind=request.get("kind", "run"), applier=isolated())
        try:
            record = session.run(spec)
        except SlimBenchError as exc:  # refused before recording: unknown name, target missing on this node...
            return {"outcome": "not_run", "message": f"{type(exc).__name__}: {exc}"}
    if record["config"].get("run_key") != request["run_key"]:
        return {"outcome": "setup_error", "message": f"node {host} computes run key {record['config'].get('run_key')}"
                                                     f" for this run, the driver {request['run_key']}: install "
                                                     f"the same slimbench on every node"}
    return {"outcome": "record", "record": record}


def hold_for_test(request: dict) -> None:
    """With $SLIMBENCH_TEST_HOLD_RUNS=DIR: write DIR/<run key>.<pid>.started, then wait until DIR/release exists."""
    hold = os.environ.get(HOLD_ENV)
    if not hold:
        return
    from suite.atomic import atomic_write_bytes
    started = {"run_key": request["run_key"], "pid": os.getpid(), "hostname": socket.gethostname()}
    atomic_write_bytes(Path(hold) / f"{request['run_key']}.{os.getpid()}.started", json.dumps(started).encode(),
                       suffix=".json")
    deadline = time.monotonic() + HOLD_MAX_S
    while not (Path(hold) / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    request_path, result_path = map(Path, argv)
    request = json.loads(request_path.read_text())
    hold_for_test(request)
    try:
        result = execute(request)
    except Exception as exc:  # anything else is a node problem: say so rather than crash without a result
        import traceback
        result = {"outcome": "setup_error", "message": f"node {socket.gethostname()}: {type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()[-8000:]}
    from suite.atomic import atomic_write_bytes
    atomic_write_bytes(result_path, json.dumps(result).encode(), suffix=".json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
