"""The code Ray runs on the nodes. Ray ships this module *by value* (cloudpickle), and it imports only the
standard library at top level: a node without slimbench installed can still run it and say so, instead of
failing to unpickle the task.

Each task runs its one (track, method, target, seed) in a child process, `python -m suite.executors.node_run`,
with the node's own Python and a private temporary store:
- the run sees the environment it would see locally: Ray sets OMP_NUM_THREADS for its workers (1 for a task
  asking 0 CPUs), which would change the thread count of torch's training loops; the child gets the driver's
  value instead (normally unset);
- the child is killed with its Ray worker (PR_SET_PDEATHSIG): when the driver dies, Ray kills the worker and no
  orphaned measurement keeps running beside the next one on that node;
- the record comes back as JSON in the return value; the node never writes into the driver's store."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

SETUP_HINT = ("every node needs the project installed (pip install -e '.[all,dist]' in the Python that runs "
              "`ray start`) and the datasets reachable ($SLIMBENCH_DATA or its cache); see docs/distributed.md")
START_REPORT_TIMEOUT_S = 30


class NodeRunCrashed(RuntimeError):
    """The run's process died without a result (killed, out of memory, segfault). Ray retries the task."""


class RunProgress:
    """A tiny actor on the driver's node: tasks report where they start, the driver polls."""

    def __init__(self):
        self.events: list[tuple[str, dict, float]] = []

    def started(self, run_key: str, where: dict) -> None:
        self.events.append((run_key, where, time.time()))

    def since(self, index: int) -> list:
        return self.events[index:]


def _die_with_parent():  # runs in the child between fork and exec
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def node_identity() -> dict:
    where = {"hostname": socket.gethostname(), "node_id": None}
    try:
        import ray
        if ray.is_initialized():  # in a Ray worker; elsewhere get_runtime_context() would start a local Ray
            where["node_id"] = ray.get_runtime_context().get_node_id()
            # Ray's own count of this task's earlier attempts (0 on the first): the attempt count of the record
            # does not depend on a start report from a node that died (no public API for it in Ray 2.60).
            where["attempt"] = int(ray._private.worker.global_worker.core_worker.get_current_task_attempt_number())
    except Exception:  # no ray here (called directly, e.g. by the tests)
        pass
    return where


def report_start(progress, run_key: str, where: dict) -> None:
    """Tell the driver's progress actor where this attempt runs, and wait until it has it: the report is in before
    the run's process starts, so an attempt whose node dies mid-run is still counted (a fire-and-forget call from
    a node killed a second later could be lost with it)."""
    try:
        import ray
        ray.get(progress.started.remote(run_key, where), timeout=START_REPORT_TIMEOUT_S)
    except Exception:  # progress display only: the run goes ahead without it
        pass


def run_on_node(payload: dict, progress=None, python: str | None = None) -> dict:
    """Run one spec on this node; return {"outcome": "record"|"not_run"|"setup_error", ..., "node": {...}}.
    Raises NodeRunCrashed (which Ray retries) when the run's process dies without a result."""
    where = node_identity()
    where["started_at"] = time.time()
    if progress is not None:
        report_start(progress, payload["run_key"], where)
    python = python or sys.executable
    host = where["hostname"]
    with tempfile.TemporaryDirectory(prefix="slimbench-node-") as tmp:
        request, result = os.path.join(tmp, "request.json"), os.path.join(tmp, "result.json")
        with open(request, "w") as handle:
            json.dump(payload, handle)
        env = dict(os.environ)
        env.pop("OMP_NUM_THREADS", None)
        env.update(payload.get("env") or {})
        cwd = payload.get("cwd") if payload.get("cwd") and os.path.isdir(payload["cwd"]) else tmp
        try:
            proc = subprocess.run([python, "-m", "suite.executors.node_run", request, result], cwd=cwd, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  preexec_fn=_die_with_parent)
        except OSError as exc:
            return {"outcome": "setup_error", "node": where,
                    "message": f"node {host}: cannot start {python}: {exc}; {SETUP_HINT}"}
        tail = (proc.stderr or proc.stdout or "").strip()[-3000:]
        if os.path.exists(result):
            with open(result) as handle:
                out = json.load(handle)
            out["node"] = dict(where, finished_at=time.time())
            return out
        if "No module named 'suite'" in tail or "No module named suite" in tail:
            return {"outcome": "setup_error", "node": where,
                    "message": f"node {host}: slimbench is not installed for {python} ({tail.splitlines()[-1]}); "
                               f"{SETUP_HINT}"}
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            raise NodeRunCrashed(f"the run's process on node {host} was killed by {name}"
                                 + (" (out of memory?)" if name == "SIGKILL" else "") + f"; last output:\n{tail}")
        raise NodeRunCrashed(f"the run's process on node {host} exited with status {proc.returncode} without a "
                             f"result; last output:\n{tail}")
