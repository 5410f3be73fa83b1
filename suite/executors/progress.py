"""Per-node progress of a distributed suite: done / running / failed for each node, as one status line."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class NodeTally:
    hostnames: dict[str, str] = field(default_factory=dict)     # node id -> hostname
    running: dict[str, str] = field(default_factory=dict)       # run key -> node id of its latest attempt
    attempts: Counter = field(default_factory=Counter)          # run key -> attempts started
    nodes_of: dict[str, list[str]] = field(default_factory=dict)  # run key -> node ids, in attempt order
    done: Counter = field(default_factory=Counter)              # node id -> runs recorded ok
    failed: Counter = field(default_factory=Counter)            # node id -> runs failed / not run

    def started(self, run_key: str, where: dict) -> None:
        node = where.get("node_id") or where.get("hostname") or "?"
        self.hostnames.setdefault(node, where.get("hostname") or "?")
        self.running[run_key] = node
        self.attempts[run_key] += 1
        self.nodes_of.setdefault(run_key, []).append(node)

    def finished(self, run_key: str, ok: bool, where: dict | None = None) -> str | None:
        """Count the run for the node it finished on (or its last known one); return that node id. `where` may
        carry Ray's count of the task's earlier attempts ("attempt"), which wins over missing start reports."""
        node = self.running.pop(run_key, None)
        if where and where.get("attempt") is not None:
            self.attempts[run_key] = max(self.attempts[run_key], int(where["attempt"]) + 1)
        if where and (where.get("node_id") or where.get("hostname")):
            node = where.get("node_id") or where.get("hostname")
            self.hostnames.setdefault(node, where.get("hostname") or "?")
        if node is None:
            node = "(no node)"
            self.hostnames.setdefault(node, node)
        (self.done if ok else self.failed)[node] += 1
        return node

    def label(self, node: str) -> str:
        """The hostname, plus the start of the node id where several nodes share a hostname (one machine)."""
        host = self.hostnames.get(node, node)
        same = [n for n, h in self.hostnames.items() if h == host]
        return host if len(same) == 1 or node == host else f"{host}/{node[:6]}"

    def summary(self) -> str:
        running = Counter(self.running.values())
        nodes = sorted(set(self.hostnames), key=self.label)
        return " | ".join(f"{self.label(n)}: {self.done[n]} done, {running[n]} running, {self.failed[n]} failed"
                          for n in nodes)
