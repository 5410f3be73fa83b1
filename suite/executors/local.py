"""The local executor: every run in this process, one after another, sharing the session's fp32 baselines."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

from suite.harness import RunSpec


@dataclass
class Outcome:
    """New records in spec order, and the runs that produced none: refused by the harness before recording
    (`not_run`, e.g. a target this machine lacks) or on a node that cannot run them (`setup_errors`)."""
    records: list[dict] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)
    setup_errors: list[str] = field(default_factory=list)


def describe(spec: RunSpec) -> str:
    return f"{spec.track} / {spec.method} / {spec.target} / seed {spec.seed}"


@contextlib.contextmanager
def machine_lock():
    """Hold the file lock named by $SLIMBENCH_RUN_LOCK (if set) for one run: on a machine shared with other
    heavy jobs that take the same lock (`flock FILE command`), runs and those jobs never overlap, and a long
    suite still lets them in between runs instead of holding the machine for hours."""
    path = os.environ.get("SLIMBENCH_RUN_LOCK")
    if not path:
        yield
        return
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_local(session, specs: list[RunSpec], desc: str) -> Outcome:
    from tqdm import tqdm

    from suite.errors import SlimBenchError

    outcome = Outcome()
    bar = tqdm(specs, desc=desc, unit="run")
    for spec in bar:
        bar.set_postfix_str(f"{spec.track} {spec.method} {spec.target} s{spec.seed}")
        try:
            with machine_lock():
                outcome.records.append(session.run(spec))
        except SlimBenchError as exc:  # e.g. a target this machine lacks: say so and go on
            outcome.not_run.append(f"{describe(spec)}: {exc}")
    bar.close()
    return outcome
