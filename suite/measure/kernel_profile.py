"""Where the time goes inside a target runtime: the kernels a method's artifact runs vs its fp32 baseline's,
with each runtime's own profiler, to explain a speedup (or its absence) on this CPU.

    python -m suite.measure.kernel_profile --track speed-bert-base --method ort-int8-dynamic --target cpu --batch 1

- `cpu` / `cpu-1t` (ONNX Runtime): the session profiler (`enable_profiling`), node kernel times by op type;
- `cpu-torch` (TorchScript): `torch.profiler`, self CPU time by operator;
- `edge` (LiteRT + XNNPACK): the Python API has no op profiler, so Linux `perf record` samples the interpreter
  loop and reports the hottest native symbols (XNNPACK micro-kernel names say the ISA path: `avx2`, `avx512vnni`).

Artifacts are built as a run builds them (the harness's Session, fp32 baseline included); nothing is recorded."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np


def _shares(times: dict[str, float], top: int) -> list[tuple[str, float]]:
    total = sum(times.values()) or 1.0
    return [(k, v / total) for k, v in sorted(times.items(), key=lambda kv: -kv[1])[:top]]


def profile_onnxruntime(path: Path, x: np.ndarray, seconds: float, threads: int | None) -> dict[str, float]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    session.run(None, feed)
    end, calls = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        session.run(None, feed)
        calls += 1
    trace = json.loads(Path(session.end_profiling()).read_text())
    times: dict[str, float] = defaultdict(float)
    for event in trace:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            times[event["args"].get("op_name", "?")] += event["dur"] / 1e3
    return dict(times), calls + 1  # the warm-up call is in the trace too


def profile_torchscript(path: Path, x: np.ndarray, seconds: float, threads: int | None) -> dict[str, float]:
    import torch

    if threads:
        torch.set_num_threads(threads)
    module = torch.jit.load(str(path), map_location="cpu").eval()
    xt = torch.from_numpy(x)
    with torch.no_grad():
        module(xt)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            end, calls = time.perf_counter() + seconds, 0
            while time.perf_counter() < end:
                module(xt)
                calls += 1
    return {e.key: e.self_cpu_time_total / 1e3 for e in prof.key_averages()}, calls


_PERF_LOOP = """
import sys, time, numpy as np
sys.path.insert(0, {repo!r})
x = np.load({x!r})
if {fmt!r} == "tflite":
    from suite.targets.edge import LiteRTRunner
    run = LiteRTRunner({path!r}, threads=1).predict
else:
    from suite.targets.cpu import OrtRunner
    run = OrtRunner({path!r}, ["CPUExecutionProvider"], {threads!r}, str(x.dtype)).predict
run(x)
end = time.perf_counter() + {seconds}
while time.perf_counter() < end:
    run(x)
"""


def profile_perf(path: Path, x: np.ndarray, seconds: float, threads: int | None, fmt: str = "tflite"):
    """Linux perf's hottest native symbols while the runtime loops on `x` (kernel names carry the ISA path:
    XNNPACK `..._avx2` / `..._avx512vnni`, MLAS `MlasGemmU8S8KernelAvx2` / `...Avx512Vnni`)."""
    from suite.paths import REPO_ROOT

    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", x)
        script = _PERF_LOOP.format(repo=str(REPO_ROOT), x=str(Path(tmp) / "x.npy"), path=str(path),
                                   seconds=seconds, fmt=fmt, threads=threads)
        data = Path(tmp) / "perf.data"
        try:
            subprocess.run(["perf", "record", "-q", "-F", "499", "-o", str(data), sys.executable, "-c", script],
                           check=True, capture_output=True, timeout=seconds + 300)
            report = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--sort", "symbol",
                                     "--percent-limit", "0.5"], check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            return {f"(perf unavailable: {exc})": 1.0}, 0
    times: dict[str, float] = {}
    for line in report.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].endswith("%") and parts[1].startswith("["):
            times[" ".join(parts[2:])[:90]] = float(parts[0].rstrip("%"))
    return times, 0  # perf samples: shares only


def profile_litert(path: Path, x: np.ndarray, seconds: float, threads: int | None):
    return profile_perf(path, x, seconds, threads, fmt="tflite")


PROFILERS = {"onnx": profile_onnxruntime, "torchscript": profile_torchscript, "tflite": profile_litert}


def profile(track_name: str, method: str, target_name: str, batch: int, seconds: float, top: int = 8,
            perf: bool = False) -> dict:
    from methods.resolve import resolve_method
    from suite.artifacts import pick_artifact
    from suite.harness import RunSpec, Session
    from suite.measure.latency import QUICK
    from suite.targets.base import to_layout

    spec = RunSpec(track_name, method, target_name)
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(Path(tmp) / "store", settings=QUICK, workdir=Path(tmp) / "work", measure_memory=False)
        track, _, target = session.resolve(spec)
        splits = track.load_splits()
        base = session.baseline(track, target, splits)
        artifact = base.artifact
        if method != "fp32":
            artifacts = session._apply(resolve_method(method, {}), track, target.name, target.formats, splits, spec)
            artifact = pick_artifact(artifacts, target.formats)
        threads = target.thread_count() if hasattr(target, "thread_count") else None
        out = {"track": track_name, "method": method, "target": target_name, "batch": batch, "seconds": seconds}
        for name, art in (("fp32", base.artifact), (method, artifact)):
            x = to_layout(splits.test.x[:batch].astype(art.input_dtype, copy=False), art.input_layout)
            if perf and art.format == "onnx":  # MLAS kernel names instead of ONNX op types
                times, calls = profile_perf(art.path, x, seconds, threads, fmt="onnx")
            else:
                times, calls = PROFILERS[art.format](art.path, x, seconds, threads)
            out[name] = {"top": _shares(times, top), "calls": calls,
                         "ms_per_call": sum(times.values()) / calls if calls else None}
    return out


def format_profile(result: dict) -> str:
    lines = [f"{result['track']} / {result['target']} / batch {result['batch']}: where the time goes "
             f"({result['seconds']:.0f} s of calls each)"]
    for name in ("fp32", result["method"]):
        if name not in result:
            continue
        per_call = result[name].get("ms_per_call")
        lines.append(f"  {name}:" + (f" {per_call:.2f} ms of kernels per call" if per_call else ""))
        lines += [f"    {share:6.1%}  {kernel}" for kernel, share in result[name]["top"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--track", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", type=Path, help="also write the result as JSON")
    parser.add_argument("--perf", action="store_true", help="ONNX Runtime: sample native symbols with perf "
                                                            "(MLAS kernel names) instead of the op-type profile")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = profile(args.track, args.method, args.target, args.batch, args.seconds, perf=args.perf)
    print(format_profile(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
