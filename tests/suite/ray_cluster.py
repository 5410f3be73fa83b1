"""A throw-away Ray cluster on this machine for the executor tests: a head and worker nodes, each a separate
`ray start` in its own process group, with its own ports and temp dir, and small (1 CPU, 200 MB object
store, no dashboard UI). Teardown kills exactly the process groups it started (never `ray stop`, which would
stop every Ray on the machine)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
# `ray start`, more patient: Ray gives a new raylet a fixed 30 s to show up in the head's node table, and the
# raylet waits for its (Python) dashboard agent; on a loaded 2-core machine (load average 15 during a parallel
# test run) both took minutes. Same command otherwise, pinned Ray (2.60): get_node retries up to 180 s.
PATIENT_RAY_START = """
import time
import ray._private.services as services
_get_node = services.get_node
def get_node(*args, **kwargs):
    deadline = time.monotonic() + 180
    while True:
        try:
            return _get_node(*args, **kwargs)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
services.get_node = get_node
from ray.scripts.scripts import main
main()
"""
NODE_RESOURCES = json.dumps({"slimbench_node": 1})
# Node death is noticed within a few seconds instead of ~30 s (head-side health checks).
FAST_FAILURE_DETECTION = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "1000",
                          "RAY_health_check_failure_threshold": "3", "RAY_health_check_initial_delay_ms": "0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cluster_env() -> dict[str, str]:
    """The environment of the nodes and of drivers joining them: no auth token (a local, throw-away cluster),
    no usage stats, no proxy to a real cluster."""
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", **FAST_FAILURE_DETECTION,
               RAY_agent_register_timeout_ms="180000", RAY_raylet_start_wait_time_s="180")
    env.pop("RAY_ADDRESS", None)
    return env


class Node:
    def __init__(self, pgid: int, node_manager_port: int, log: Path):
        self.pgid, self.node_manager_port, self.log = pgid, node_manager_port, log

    def pids(self) -> list[int]:
        """Live processes of the node's process group (killed ones may linger as zombies: not counted)."""
        out = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if fields[0] != "Z" and int(fields[2]) == self.pgid:  # state, ppid, pgrp
                    out.append(int(entry.name))
        return out

    def descendants_running(self, needle: str) -> list[int]:
        """Processes of this node (its process group, or below its raylet) whose command line has `needle`."""
        roots = set(self.pids())
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if needle in cmd and (pid in roots or _has_ancestor(pid, roots)):
                found.append(pid)
        return found

    def kill(self) -> None:
        """SIGKILL every process of the node: the machine disappears mid-task."""
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in self.descendants_running(""):  # workers that left the group (none expected)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _has_ancestor(pid: int, roots: set[int]) -> bool:
    seen = 0
    while pid > 1 and seen < 64:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid in roots:
            return True
        seen += 1
    return False


class LocalRayCluster:
    def __init__(self):
        # Short path: Ray's unix sockets live under it and sun_path is limited to 107 bytes.
        self.temp = Path(tempfile.mkdtemp(prefix="sbray-", dir="/tmp"))
        self.nodes: list[Node] = []
        self.address: str | None = None
        self.env = cluster_env()

    def _start(self, args, name: str, tries: int = 2) -> Node:
        """`ray start`, again (fresh ports) when it fails: Ray gives a raylet a fixed 30 s to register with the
        head, which a loaded 2-core machine can miss."""
        for attempt in range(1, tries + 1):
            try:
                return self._start_once(args() if callable(args) else args, f"{name}-try{attempt}")
            except RuntimeError:
                self.nodes.pop().kill()
                if attempt == tries:
                    raise
                time.sleep(2)

    def _start_once(self, args: list[str], name: str) -> Node:
        nm_port = free_port()
        log = self.temp / f"{name}.log"
        common = ["--num-cpus=1", "--object-store-memory=200000000", f"--resources={NODE_RESOURCES}",
                  f"--node-manager-port={nm_port}", f"--object-manager-port={free_port()}",
                  f"--metrics-export-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
                  f"--dashboard-agent-grpc-port={free_port()}", f"--runtime-env-agent-port={free_port()}",
                  "--include-log-monitor=false", "--disable-usage-stats"]
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-c", PATIENT_RAY_START, "start", *args, *common], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=self.temp)
            node = Node(proc.pid, nm_port, log)
            self.nodes.append(node)  # registered before waiting: teardown kills it even if start fails
            try:
                code = proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = "timeout"
        if code != 0:
            raise RuntimeError(f"`ray start` for the {name} failed ({code}):\n{log.read_text()[-3000:]}")
        return node

    def start_head(self) -> Node:
        def args():
            port = free_port()
            self.address = f"127.0.0.1:{port}"
            return ["--head", f"--port={port}", "--node-ip-address=127.0.0.1", f"--ray-client-server-port={free_port()}",
                    "--include-dashboard=false", f"--dashboard-port={free_port()}", f"--temp-dir={self.temp}"]
        return self._start(args, "head")

    def add_worker(self) -> Node:
        assert self.address, "start the head first"
        node = self._start(lambda: [f"--address={self.address}", "--node-ip-address=127.0.0.1"],
                           f"worker{len(self.nodes)}")
        self.wait_for_nodes()
        return node

    def alive_nodes(self) -> int:
        """Nodes the head counts as alive (asks with a short-lived driver-free query: `ray status`)."""
        out = subprocess.run([RAY, "status", f"--address={self.address}"], env=self.env, capture_output=True,
                             text=True, timeout=60)
        text = out.stdout
        if "Active:" not in text:
            return 0
        active = text.split("Active:", 1)[1].split("Pending:", 1)[0]
        return sum(1 for line in active.splitlines() if line.strip().startswith("1 node_"))

    def wait_for_nodes(self, timeout: float = 60) -> None:
        want = sum(1 for n in self.nodes if n.pids())
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.alive_nodes() >= want:
                return
            time.sleep(1)
        raise RuntimeError(f"the cluster never showed {want} alive node(s)")

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()
        time.sleep(0.5)
        shutil.rmtree(self.temp, ignore_errors=True)
