"""Peak resident memory of a fresh process that loads and runs an artifact on its target.

Both numbers are recorded: the probe's peak RSS and an empty interpreter's, and their difference."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict

from suite.artifacts import ExportedArtifact

_EMPTY = "import json; from suite.measure.memory import peak_rss_bytes; print(json.dumps({'peak_rss_bytes': peak_rss_bytes()}))"


def peak_rss_bytes() -> int:
    """Peak RSS of this process. VmHWM belongs to the current address space, so it restarts at exec;
    ru_maxrss does not (Linux carries the parent's peak across fork+exec), hence only a fallback."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _run(args: list[str], timeout: float = 300) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"memory probe failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_peak_memory(target_name: str, artifact: ExportedArtifact, input_shape: tuple[int, ...],
                        batch: int = 64) -> dict:
    spec = {**asdict(artifact), "path": str(artifact.path)}
    probe = _run(["-m", "suite.measure.memprobe", target_name, json.dumps(spec), json.dumps(list(input_shape)),
                  str(batch)])
    empty = _run(["-c", _EMPTY])
    return {"peak_rss_bytes": probe["peak_rss_bytes"], "empty_interpreter_rss_bytes": empty["peak_rss_bytes"],
            "net_peak_rss_bytes": probe["peak_rss_bytes"] - empty["peak_rss_bytes"], "probe_batch": batch}
