"""The machine's between-run spread of speedups, measured by `--repeat` groups and added to every record's interval.

One run's interval (suite.measure.latency) covers the noise within that run, including fresh runtime sessions
(sub-sessions). What holds for a whole run and changes over minutes - on a shared VM the host's frequency and
the neighbours behind the vCPUs - only shows between runs: five runs of one configuration on the project's
2-vCPU EPYC spread 1.32-1.60x while each interval was +-3-6% (docs/measurement.md, series B-D).

Model (random effects): a run's log speedup = the machine's long-run log speedup + a run effect (variance
tau^2) + within-run noise (the run's own standard error). From each `--repeat` group of runs of one
configuration, tau^2 = max(0, variance of the runs' log point estimates - mean of their squared within-run
standard errors) (the method-of-moments estimate); groups on one machine and target are pooled, weighted by
their degrees of freedom (runs - 1). A later record's interval is then
    exp(log s +- sqrt(h^2 + (t(df) * tau)^2))
with h its own half-width (log scale) and t(df) the 95% Student quantile of the pooled degrees of freedom:
the half-widths add in quadrature. The record keeps its own interval (`timing.<phase>.ci_run`) and states the
floor it used (`timing.between_runs`). With no group measured on this machine and target, nothing changes and
the record says its interval covers this run only.

The floors live in the cache (`<cache>/between-runs/<machine id>.json`), keyed by the machine (CPU identity,
cores, host name) and the target (its thread policy changes the spread). Only full-settings groups timed
without high load contribute (a --quick group's numbers are smoke). Assumption, stated in each record: the
spread measured on the groups' configurations applies to other configurations on the same machine and target.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from suite.measure.latency import is_quick, t975
from suite.records.sections import read_results

PHASES = ("single_stream", "offline")
MAX_GROUPS = 20  # per target: the newest groups describe the machine's present state
DOC = "docs/measurement.md, section Between-run spread"


def machine_id(cpu: dict, hostname: str | None) -> str:
    """A stable name for this machine: CPU identity, core count and host name (not time, not code)."""
    keys = ("vendor", "model", "family", "model_id", "stepping", "logical_cores", "isa_class")
    body = json.dumps({"hostname": hostname, **{k: cpu.get(k) for k in keys}}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def floor_path(machine: str) -> Path:
    from suite.paths import cache_dir
    return cache_dir() / "between-runs" / f"{machine}.json"


def _run_se(results: dict, phase: str) -> tuple[float, float] | None:
    """(log point estimate, within-run standard error) of one record's speedup in `phase`, from the run's own
    interval: half-width / t(rounds - 1), the t the run used (the standard error is then not understated)."""
    key = "speedup_single_stream" if phase == "single_stream" else "speedup_offline"
    timing = (results.get("timing") or {}).get(phase) or {}
    ci = timing.get("ci_run") or results.get(f"{key}_ci")
    value = results.get(key)
    if not ci or not value or value <= 0 or ci[0] <= 0:
        return None
    h = math.log(ci[1] / ci[0]) / 2
    counts = [n for n in (timing.get("rounds"), timing.get("subsessions")) if isinstance(n, int) and n >= 2]
    df = max(1, min(counts) - 1) if counts else 1
    return math.log(value), h / t975(df)


def group_component(records: list[dict], phase: str) -> dict | None:
    """tau^2 (log scale) of one group of runs of one configuration, with its degrees of freedom; None below two
    usable runs."""
    points = [p for p in (_run_se(r["results"], phase) for r in records) if p is not None]
    if len(points) < 2:
        return None
    logs = [lp for lp, _ in points]
    mean = sum(logs) / len(logs)
    var = sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)
    within = sum(se ** 2 for _, se in points) / len(points)
    return {"tau2": max(0.0, var - within), "df": len(points) - 1, "var_points": var, "mean_se2": within}


def contributes(records: list[dict]) -> str | None:
    """Why a repeat group does not enter the floor, or None when it does."""
    ok = [r for r in records if r["status"] == "ok"]
    if len(ok) < 2:
        return "fewer than two successful runs"
    if any(is_quick(r["config"].get("latency_settings")) for r in ok):
        return "--quick settings (smoke numbers)"
    if any(read_results(r).timed_under_high_load for r in ok):
        return "a run was timed under high load"
    if any(r["results"].get("speedup_single_stream_ci") is None for r in ok):
        return "the fp32 baseline itself (no speedup interval)"
    if len({machine_of(r) for r in ok}) != 1 or len({r["config"]["target"] for r in ok}) != 1:
        return "runs on different machines or targets"
    return None


def machine_of(record: dict) -> str:
    prov = record.get("provenance") or {}
    return machine_id(prov.get("cpu") or {}, prov.get("hostname"))


def add_group(records: list[dict]) -> dict | None:
    """Enter a finished `--repeat` group into its machine's floor file; the updated floor of its target, or None
    when the group does not contribute (see `contributes`)."""
    if contributes(records) is not None:
        return None
    ok = [r for r in records if r["status"] == "ok"]
    machine, target = machine_of(ok[0]), ok[0]["config"]["target"]
    path = floor_path(machine)
    data = load(machine) or {"machine": machine, "cpu": (ok[0]["provenance"].get("cpu") or {}).get("model"),
                             "targets": {}}
    entry = {"group": (ok[0]["config"].get("repeat") or {}).get("group"), "runs": len(ok),
             "measured_at": max(r["created_utc"] for r in ok),
             "configuration": {k: ok[0]["config"][k] for k in ("track", "method", "target")},
             "phases": {phase: group_component(ok, phase) for phase in PHASES}}
    groups = [g for g in data["targets"].get(target, []) if g.get("group") != entry["group"]] + [entry]
    data["targets"][target] = groups[-MAX_GROUPS:]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)
    return floor(data, target)


def load(machine: str) -> dict | None:
    path = floor_path(machine)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or damaged: records then say they have no floor (not fatal)
        return None


def floor(data: dict | None, target: str) -> dict | None:
    """The pooled floor of a target: per phase tau (log scale) and its degrees of freedom, with the groups."""
    groups = (data or {}).get("targets", {}).get(target) or []
    if not groups:
        return None
    out = {"groups": len(groups), "runs": sum(g["runs"] for g in groups),
           "measured": [min(g["measured_at"] for g in groups), max(g["measured_at"] for g in groups)],
           "configurations": sorted({f"{g['configuration']['track']}/{g['configuration']['method']}"
                                     for g in groups})}
    for phase in PHASES:
        parts = [g["phases"].get(phase) for g in groups if g["phases"].get(phase)]
        df = sum(p["df"] for p in parts)
        out[phase] = None if not df else {"tau_log": math.sqrt(sum(p["tau2"] * p["df"] for p in parts) / df),
                                          "df": df}
    return out


def widen(results: dict, target: str, cpu: dict, hostname: str | None) -> None:
    """Add this machine's between-run spread (if measured) to the record's speedup intervals, in place; keep the
    run's own interval in timing.<phase>.ci_run and state the floor used in timing.between_runs."""
    timing = results.get("timing")
    if timing is None:
        return
    machine = machine_id(cpu, hostname)
    found = floor(load(machine), target)
    if found is None:
        timing["between_runs"] = {"applied": False, "machine": machine, "doc": DOC,
                                  "reason": "no --repeat group measured on this machine and target: the interval "
                                            "covers this run only"}
        return
    applied = {}
    for phase, key in (("single_stream", "speedup_single_stream"), ("offline", "speedup_offline")):
        ci, value, part = results.get(f"{key}_ci"), results.get(key), found.get(phase)
        if not ci or not value or part is None:
            continue
        h = math.log(ci[1] / ci[0]) / 2
        extra = t975(part["df"]) * part["tau_log"]
        wide = math.sqrt(h * h + extra * extra)
        timing.setdefault(phase, {})["ci_run"] = list(ci)
        results[f"{key}_ci"] = [value * math.exp(-wide), value * math.exp(wide)]
        applied[phase] = {"tau_log": round(part["tau_log"], 5), "df": part["df"],
                          "half_width_run": math.expm1(h), "half_width": math.expm1(wide)}
    if not applied:
        timing["between_runs"] = {"applied": False, "machine": machine, "doc": DOC,
                                  "reason": "no speedup interval to widen (the fp32 baseline itself)"}
        return
    timing["between_runs"] = {"applied": True, "machine": machine, "doc": DOC, "phases": applied,
                              "groups": found["groups"], "runs": found["runs"], "measured": found["measured"],
                              "configurations": found["configurations"],
                              "assumption": "the between-run spread of these groups' configurations holds for this "
                                            "one on this machine and target"}


def describe(found: dict) -> str:
    """One line: the groups behind a floor and its size per phase (the ± it adds on its own, with the t(df)
    that `widen` uses)."""
    parts = [f"{label} ±{math.expm1(t975(found[phase]['df']) * found[phase]['tau_log']) * 100:.1f}% "
             f"(tau {found[phase]['tau_log']:.4f},"
             f" df {found[phase]['df']})" for phase, label in (("single_stream", "batch 1"), ("offline", "b64"))
             if found.get(phase)]
    return (f"{found['groups']} group(s), {found['runs']} runs, {found['measured'][0]} to {found['measured'][1]} "
            f"({', '.join(found['configurations'])}): {'; '.join(parts) or 'none'}")


# -- comparing runs ------------------------------------------------------------------------------------------
# A record's interval is a confidence interval for the machine's speedup. Another run's *point estimate* has its
# own noise too, so it falls inside this run's interval less often than 95% (about 83% for two runs of equal
# width and no between-run effect; 32 of 40 pairs in series E, docs/measurement.md). Whether two runs agree is a
# question about their difference: log a - log b has variance se_a^2 + se_b^2 (+ 2 tau^2, which widened
# intervals already carry), so they agree at 95% when |log a - log b| <= sqrt(h_a^2 + h_b^2), each h a run's
# log half-width. A run's re-run interval is that bound for a run as precise as itself: h * sqrt(2).


def _log_half_width(estimate: float, ci, towards: float) -> float | None:
    """The interval's half-width on the log scale, on the side facing `towards`; None without a usable one."""
    if not ci or estimate is None or estimate <= 0 or ci[0] <= 0 or not ci[0] <= estimate <= ci[1]:
        return None
    return math.log(ci[1] / estimate) if towards >= estimate else math.log(estimate / ci[0])


def rerun_interval(estimate: float | None, ci) -> list[float] | None:
    """95% interval for the point estimate of another run of the same configuration on the same machine and
    target, as precise as this one: each side of the run's interval widened by sqrt(2) on the log scale. None
    without an interval (the fp32 baseline, older records)."""
    h_low, h_high = _log_half_width(estimate, ci, 0.0), _log_half_width(estimate, ci, math.inf)
    if h_low is None or h_high is None:
        return None
    return [estimate * math.exp(-math.sqrt(2) * h_low), estimate * math.exp(math.sqrt(2) * h_high)]


def agree(a: float | None, ci_a, b: float | None, ci_b) -> bool | None:
    """Do two runs' speed estimates agree within both runs' noise (95%)? None when either lacks an interval."""
    h_a, h_b = _log_half_width(a, ci_a, b), _log_half_width(b, ci_b, a)
    if h_a is None or h_b is None:
        return None
    return abs(math.log(a) - math.log(b)) <= math.sqrt(h_a * h_a + h_b * h_b) + 1e-12
