"""The `ray` executor: each (track, method, target, seed) of a suite is one Ray task.

- A task asks for one unit of the custom resource `slimbench_node`, which every node offers exactly once: a
  measuring run holds the whole node and two measurements never overlap on a machine. It asks for no CPU, so
  the resource alone decides placement.
- The task runs the spec through the same Session path as locally, in a private store on the node, and returns
  the record as JSON; the driver writes it with the store's atomic writer. Nodes never write the driver's store.
- A worker process or node that dies mid-task: Ray retries the task (`max_retries`, bounded); once they are
  used up the driver writes a failed record with the reason.
- Resume: runs whose record (same run key) is already in the store are not submitted (suite/executors/plan.py).
"""
from __future__ import annotations

import json
import os
import socket
import sys

from suite.errors import ConfigError
from suite.executors.local import Outcome, describe
from suite.executors.node_run import HOLD_ENV
from suite.executors.progress import NodeTally
from suite.harness import RunSpec

NODE_RESOURCE = "slimbench_node"
DEFAULT_MAX_RETRIES = 2
NODE_FLAGS = f"--resources='{{\"{NODE_RESOURCE}\": 1}}'"
CONNECT_TIMEOUT_S = 10


def connect(address: str | None):
    """Join the cluster at `address` (else $RAY_ADDRESS, else a cluster started on this machine)."""
    from suite.lazy import require
    ray = require("ray", "dist")
    if ray.is_initialized():
        return ray
    target = address or os.environ.get("RAY_ADDRESS") or "auto"
    hint = (f"Start one with `ray start --head {NODE_FLAGS}` (and `ray start --address HEAD:PORT {NODE_FLAGS}` on "
            f"each other node), then pass --ray-address HEAD:PORT; see docs/distributed.md")
    if target != "auto" and "://" not in target:  # ray.init retries an unreachable address for many minutes
        host, _, port = target.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S).close()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot reach a Ray cluster at {target!r} ({exc}). {hint}") from None
    try:
        ray.init(address=target, logging_level="WARNING", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"cannot join a Ray cluster at {target!r}: {exc}\n{hint}") from None
    return ray


class RayExecutor:
    def __init__(self, address: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
                 worker_env: dict[str, str] | None = None, poll_s: float = 0.5):
        if max_retries < 0:
            raise ConfigError(f"--max-retries must be 0 or more, got {max_retries}")
        self.address, self.max_retries, self.poll_s = address, max_retries, poll_s
        self.worker_env = dict(worker_env or {})  # extra environment for the runs on the nodes

    def run(self, session, specs: list[RunSpec], keys: list[str], desc: str) -> Outcome:
        """Run `specs` (with their run keys) on the cluster; records are written to session.store here."""
        from tqdm import tqdm

        import suite
        from suite.executors import ray_remote

        ray = connect(self.address)
        for spec in specs:  # unknown names fail here, on the driver, before anything is submitted
            session.resolve(spec)
        nodes = ray.cluster_resources().get(NODE_RESOURCE, 0)
        if nodes < 1:
            raise ConfigError(f"no node of the Ray cluster offers the {NODE_RESOURCE!r} resource, so no run could "
                              f"ever be scheduled: start each node with `ray start ... {NODE_FLAGS}` "
                              f"(see docs/distributed.md)")
        from ray import cloudpickle
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        cloudpickle.register_pickle_by_value(ray_remote)  # nodes need not import it (see its docstring)

        progress = ray.remote(num_cpus=0)(ray_remote.RunProgress).options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=True)
        ).remote()
        task = ray.remote(ray_remote.run_on_node).options(
            num_cpus=0, resources={NODE_RESOURCE: 1}, max_retries=self.max_retries, retry_exceptions=True)
        env = dict(self.worker_env)
        if "OMP_NUM_THREADS" in os.environ:  # the driver's explicit choice, as a local run would see it
            env.setdefault("OMP_NUM_THREADS", os.environ["OMP_NUM_THREADS"])
        if HOLD_ENV in os.environ:  # the tests' fault-injection point (suite/executors/node_run.py)
            env.setdefault(HOLD_ENV, os.environ[HOLD_ENV])
        pending = {}
        for i, spec in enumerate(specs):
            payload = {"spec": {"track": spec.track, "method": spec.method, "target": spec.target, "seed": spec.seed,
                                "params": dict(spec.params)},
                       "run_key": keys[i], "kind": session.kind, "latency_settings": session.settings.to_dict(),
                       "measure_memory": session.measure_memory, "slimbench_version": suite.__version__,
                       "cwd": os.getcwd(), "env": env}
            pending[task.remote(payload, progress)] = i

        outcome, tally, seen, records, shown = Outcome(), NodeTally(), 0, {}, None
        bar = tqdm(total=len(specs), desc=f"{desc} [ray: {int(nodes)} node(s)]", unit="run")
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_s)
                seen = self._poll(ray, progress, tally, seen)
                for ref in ready:
                    i = pending.pop(ref)
                    spec, key = specs[i], keys[i]
                    seen = self._poll(ray, progress, tally, seen)  # its last start, for the attempt count
                    record, message, node = self._finish(ray, ref, spec, key, session, tally)
                    if record is not None:
                        records[i] = record
                    else:
                        kind, message = message
                        (outcome.setup_errors if kind == "setup_error" else outcome.not_run).append(
                            f"{describe(spec)}: {message}")
                    bar.write(f"{record['status'] if record else 'not run'}: {describe(spec)} on {tally.label(node)}"
                              f" (attempts: {max(tally.attempts[key], 1)})", file=sys.stderr)
                    bar.update(1)
                if tally.summary() != shown:  # redraw only on change: a log file gets one line per change
                    shown = tally.summary()
                    bar.set_postfix_str(shown, refresh=True)
        finally:
            bar.close()
        print(f"nodes: {tally.summary()}", file=sys.stderr)
        outcome.records = [records[i] for i in sorted(records)]
        return outcome

    @staticmethod
    def _poll(ray, progress, tally: NodeTally, seen: int) -> int:
        try:
            events = ray.get(progress.since.remote(seen), timeout=30)
        except Exception:  # progress display only: never fail the suite for it
            return seen
        for run_key, where, _ in events:
            tally.started(run_key, where)
        return seen + len(events)

    def _finish(self, ray, ref, spec: RunSpec, key: str, session, tally: NodeTally):
        """(record now in the driver's store, or None with the reason; node id it is counted for)."""
        from ray.exceptions import RayError

        try:
            result = ray.get(ref)
        except RayError as exc:  # retries used up: the worker or node kept dying, or the run's process crashed
            # Ray has used every retry; the start events of the progress actor may still be in flight.
            attempts = max(tally.attempts[key], self.max_retries + 1)
            nodes = [tally.label(n) for n in tally.nodes_of.get(key, [])]
            node = tally.finished(key, ok=False)
            return self._failed_record(spec, session, exc, attempts, nodes), None, node
        where = result.get("node") or {}
        if result["outcome"] != "record":
            return (None, (result["outcome"], result.get("message", "no reason given")),
                    tally.finished(key, ok=False, where=where))
        record = result["record"]
        node = tally.finished(key, ok=record["status"] == "ok", where=where)
        record["provenance"]["executor"] = {  # which node measured it, when, after how many attempts
            "name": "ray", "node_id": where.get("node_id"), "attempts": max(tally.attempts[key], 1),
            "started_at": where.get("started_at"), "finished_at": where.get("finished_at")}
        return _reload(session.store.write(record)), None, node

    def _failed_record(self, spec: RunSpec, session, exc, attempts: int, nodes: list[str]) -> dict:
        track, method_cls = _resolve_for_record(session, spec)
        record = session._base_record(spec, track, method_cls)
        cause = getattr(exc, "cause", None) or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        record["status"] = "failed"
        record["error"] = {
            "type": type(cause).__name__, "phase": "executor",
            "message": f"gave up after {attempts} attempt(s) (--max-retries {self.max_retries})"
                       + (f" on {', '.join(nodes)}" if nodes else "") + f": {first}",
            "traceback": str(exc)[-20000:]}
        record["provenance"]["executor"] = {"name": "ray", "node_id": None, "attempts": attempts}
        return _reload(session.store.write(record))


def _resolve_for_record(session, spec: RunSpec):
    """Track and method class for the config of a failed record; a method the driver cannot resolve (a file
    that only the nodes have) is described by name."""
    from suite.tracks import get_track
    try:
        track, method_cls, _ = session.resolve(spec)
        return track, method_cls
    except Exception:
        return get_track(spec.track), type("UnresolvedMethod", (), {"family": "unknown", "framework": "unknown"})


def _reload(path) -> dict:
    return json.loads(path.read_text())
