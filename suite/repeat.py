"""`slimbench run ... --repeat N`: N independent sessions of one configuration, each in a fresh process.

A session's 95% interval covers the round-to-round noise of *that* session; what stays fixed for a whole
session (thread placement, memory layout, frequency state) only shows across sessions. Each repeat is a
child `slimbench run` (its own interpreter, its own fp32 baseline) writing its own record, tagged
`config.repeat = {group, index, of}`; the parent prints them with the median and spread of the point
estimates and how many of them lie inside the others' intervals."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from suite.errors import ConfigError


def parse_tag(text: str | None) -> dict | None:
    """'GROUP:I:N' (what the parent passes each child) -> {"group", "index", "of"}."""
    if not text:
        return None
    try:
        group, index, of = text.split(":")
        tag = {"group": group, "index": int(index), "of": int(of)}
    except ValueError:
        raise ConfigError(f"--repeat-tag expects GROUP:INDEX:COUNT, got {text!r}") from None
    if not (len(group) == 12 and all(c in "0123456789abcdef" for c in group) and 1 <= tag["index"] <= tag["of"]):
        raise ConfigError(f"--repeat-tag {text!r}: GROUP is 12 hex digits, 1 <= INDEX <= COUNT")
    return tag


def tagged_session(session, tag: dict | None):
    """The session, its records carrying config.repeat when `tag` is set."""
    if tag is None:
        return session
    base = session._base_record

    def _base_record(spec, track, method_cls):
        record = base(spec, track, method_cls)
        record["config"]["repeat"] = dict(tag)
        return record
    session._base_record = _base_record
    return session


def child_argv(args, tag: str) -> list[str]:
    argv = ["run", "--track", args.track, "--method", args.method, "--target", args.target, "--seed", str(args.seed)]
    for pair in args.param:
        argv += ["--param", pair]
    if args.store:
        argv += ["--store", str(args.store)]
    argv += ["--quick"] * bool(args.quick) + ["--no-memory"] * bool(args.no_memory)
    return argv + ["--repeat-tag", tag]


def run_repeats(args, echo=print) -> int:
    """Run the configuration args.repeat times, each in a fresh `python -m suite.cli run` process."""
    from suite.paths import default_store
    from suite.records.store import load_record
    from suite.report import format_table

    n = int(args.repeat)
    if n < 1:
        raise ConfigError(f"--repeat {n}: expects a count of at least 1")
    group = uuid.uuid4().hex[:12]
    store = Path(args.store or default_store())
    records, failed = [], 0
    for i in range(1, n + 1):
        echo(f"--- repeat {i}/{n} (fresh process; group {group})", flush=True)
        argv = [sys.executable, "-m", "suite.cli", *child_argv(args, f"{group}:{i}:{n}")]
        out = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ))
        paths = [line.split("record: ", 1)[1].strip() for line in out.stdout.splitlines() if line.startswith("record: ")]
        if not paths:
            failed += 1
            echo(f"repeat {i} wrote no record (exit {out.returncode}):\n{out.stderr.strip()[-2000:]}", file=sys.stderr)
            continue
        record = load_record(Path(paths[-1]))
        records.append(record)
        failed += record["status"] != "ok"
    echo(f"\n{len(records)} record(s) of {n} repeats in {store}:")
    echo(format_table(records) if records else "(none)")
    echo("\n" + summary_text(records))
    echo(between_runs_text(records))
    return 1 if failed else 0


def between_runs_text(records: list[dict]) -> str:
    """Enter the group into the machine's between-run floor (suite.measure.between_runs) and say what it is."""
    from suite.measure import between_runs
    found = between_runs.add_group(records)
    if found is None:
        return f"not added to this machine's between-run spread: {between_runs.contributes(records)}"
    return (f"this machine's between-run spread on {records[0]['config']['target']} now pools "
            f"{between_runs.describe(found)}; "
            f"later records add it to their intervals (`slimbench between-runs show`)")


def consistency(values: list[float], intervals: list[list[float] | None]) -> list[int]:
    """For each run i: how many *other* runs' 95% intervals contain its point estimate."""
    return [sum(1 for j, ci in enumerate(intervals) if j != i and ci and ci[0] <= v <= ci[1])
            for i, v in enumerate(values)]


def rerun_consistency(values: list[float], intervals: list[list[float] | None]) -> list[int]:
    """For each run i: how many other runs' *re-run* intervals (suite.measure.between_runs.rerun_interval: where
    another run's estimate falls, 95%) contain its point estimate."""
    from suite.measure.between_runs import rerun_interval
    return consistency(values, [rerun_interval(v, ci) for v, ci in zip(values, intervals)])


def summary(records: list[dict]) -> dict:
    import numpy as np

    ok = [r for r in records if r["status"] == "ok"]
    out = {}
    for key in ("speedup_single_stream", "speedup_offline"):
        values = [r["results"][key] for r in ok]
        if not values:
            continue
        intervals = [r["results"].get(f"{key}_ci") for r in ok]
        out[key] = {"n": len(values), "median": float(np.median(values)), "min": min(values), "max": max(values),
                    "spread_pct": (max(values) - min(values)) / float(np.median(values)) * 100,
                    "inside_others": consistency(values, intervals),
                    "inside_others_rerun": rerun_consistency(values, intervals)}
    return out


def summary_text(records: list[dict]) -> str:
    lines = []
    for key, s in summary(records).items():
        label = "speedup (batch 1)" if key == "speedup_single_stream" else "b64 speedup"
        lines.append(f"{label}: median {s['median']:.3f}× over {s['n']} sessions, range {s['min']:.3f}-"
                     f"{s['max']:.3f}× (spread {s['spread_pct']:.1f}% of the median); each estimate inside "
                     f"{'/'.join(map(str, s['inside_others']))} of the other {s['n'] - 1} sessions' 95% confidence "
                     f"intervals and {'/'.join(map(str, s['inside_others_rerun']))} of their 95% re-run intervals "
                     "(where another run's estimate falls: docs/measurement.md)")
    return "\n".join(lines) or "no successful repeats"
