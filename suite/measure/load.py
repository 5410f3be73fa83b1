"""The machine's load around a timing: other processes' share of this process's CPUs, time stolen by the
hypervisor, and the 1-minute load average per core, before and after.

The load average counts this process's own threads (and whatever it ran in the minute before: a method's
training), so it is recorded but does not decide anything. What decides is the CPU time *other* processes
used on the CPUs this process may run on: /proc/stat's busy time of those CPUs minus this process's own CPU
time, over the timing's wall time (plus steal, which a VM loses to its neighbours). Linux only; elsewhere
the shares are None (unknown) and nothing is refused on their account."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

# A timing during which other processes (or the hypervisor) took more than this share of the CPUs the
# runtime computes on is marked `high`; `publish` and `ingest` refuse such records unless forced. Records
# state the threshold they were judged by. SLIMBENCH_HIGH_LOAD_SHARE overrides it (the test suite sets 1.0:
# its records are smoke numbers taken on whatever machine runs the tests; the gate's own tests set it back).
HIGH_LOAD_SHARE = float(os.environ.get("SLIMBENCH_HIGH_LOAD_SHARE", "0.20"))
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


@dataclass(frozen=True)
class Snapshot:
    wall: float
    own_cpu: float            # seconds of CPU this process (all its threads) used so far
    busy: float | None        # seconds the allowed CPUs were busy (user+nice+system+irq+softirq), all processes
    steal: float | None       # seconds stolen from the allowed CPUs by the hypervisor
    loadavg: float | None     # 1-minute load average


def _proc_stat(cpus: list[int]) -> tuple[float | None, float | None]:
    wanted = {f"cpu{i}" for i in cpus}
    busy = steal = 0
    seen = 0
    try:
        with open("/proc/stat") as handle:
            for line in handle:
                parts = line.split()
                if parts and parts[0] in wanted:
                    v = [int(x) for x in parts[1:9]]  # user nice system idle iowait irq softirq steal
                    busy += v[0] + v[1] + v[2] + v[5] + v[6]
                    steal += v[7]
                    seen += 1
    except (OSError, ValueError, IndexError):
        return None, None
    if seen != len(wanted):
        return None, None
    return busy / _TICK, steal / _TICK


def snapshot() -> Snapshot:
    busy, steal = _proc_stat(_cpus())
    try:
        loadavg = os.getloadavg()[0]
    except (OSError, AttributeError):
        loadavg = None
    return Snapshot(time.perf_counter(), time.process_time(), busy, steal, loadavg)


def between(before: Snapshot, after: Snapshot) -> dict:
    """The load during [before, after], as recorded in results.timing.*.load."""
    cores = len(_cpus())
    wall = max(after.wall - before.wall, 1e-9)
    other = steal = None
    if before.busy is not None and after.busy is not None:
        own = after.own_cpu - before.own_cpu
        # /proc/stat ticks are coarse (10 ms): clip tiny negatives from rounding
        other = min(1.0, max(0.0, (after.busy - before.busy - own) / (wall * cores)))
        steal = min(1.0, max(0.0, (after.steal - before.steal) / (wall * cores)))
    per_core = lambda v: None if v is None else round(v / cores, 3)  # noqa: E731
    return {"wall_s": round(wall, 3), "cores": cores,
            "loadavg_per_core_before": per_core(before.loadavg), "loadavg_per_core_after": per_core(after.loadavg),
            "other_cpu_share": None if other is None else round(other, 4),
            "steal_share": None if steal is None else round(steal, 4)}


def interference(load: dict | None) -> float | None:
    """Other processes' plus the hypervisor's share of the CPUs during a timing (None: unknown)."""
    if not load or load.get("other_cpu_share") is None:
        return None
    return float(load["other_cpu_share"]) + float(load.get("steal_share") or 0.0)


def record_interference(record: dict) -> float | None:
    """The worst interference over a record's timed phases, recomputed from the recorded per-phase load
    (not from its `high` flag); None for records without load figures (older than issue 16, or failed)."""
    timing = (record.get("results") or {}).get("timing") or {}
    shares = [interference((timing.get(phase) or {}).get("load")) for phase in ("single_stream", "offline")]
    shares = [s for s in shares if s is not None]
    return max(shares) if shares else None


def load_refusal(record: dict) -> str | None:
    """Why `publish` / `ingest` refuse a record (timed under load above HIGH_LOAD_SHARE), or None."""
    worst = record_interference(record)
    if worst is None or worst <= HIGH_LOAD_SHARE:
        return None
    return (f"timed under load: other processes (or the hypervisor) took {worst:.0%} of the CPUs during the timing, "
            f"above the {HIGH_LOAD_SHARE:.0%} threshold; re-run it on a quiet machine or pass --force")
