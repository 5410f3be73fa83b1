"""Run a submitted method, and measure what it produced, in sandboxed worker processes
(`python -m suite.submission.worker` inside bubblewrap: suite.submission.sandbox).

Each worker gets a fresh scratch directory, the sandbox's /sandbox: the request, the train/validation/
calibration arrays as .npy files and the method's source file (all read-only), or for a measurement the
artifact, the session's fp32 baseline artifact and the test *inputs* (read-only; the labels stay here).
It runs with the track budget's wall-time (the whole sandbox is killed when over) and memory limits and
hands back files plus a JSON description (never pickle). Every way it can fail becomes an exception
with a clear message, so the harness writes a failed record and the session goes on."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite import errors
from suite.errors import SlimBenchError
from suite.finite import NonFiniteError, check_finite  # noqa: F401  (re-exported)
from suite.paths import REPO_ROOT
from suite.submission import sandbox
from suite.submission import worker as worker_module

FORMAT_LAYOUTS = ("NCHW", "NHWC", "flat")
INPUT_DTYPES = ("float32", "float16", "int8", "uint8", "int32", "int64")
MAX_RESULT_BYTES = 8 << 20
MAX_INFO_BYTES = 64 << 10        # an artifact's `info` (method facts) as JSON
MAX_ARTIFACT_BYTES = 2 << 30      # a submitted artifact larger than this is refused before it is measured
DESCRIBE_WALL_S = 300.0
DESCRIBE_MEMORY_MB = 4096
NOWHERE_PROXY = "http://127.0.0.1:9"  # the discard port: any proxied request fails at once


@dataclass(frozen=True)
class IsolationSettings:
    """Overrides for tests and `slimbench submit`; None takes the track budget's value."""
    wall_time_s: float | None = None
    memory_mb: int | None = None
    measure_wall_time_s: float | None = None  # measuring a submitted artifact; default: wall_time_s
    check_determinism: bool = False   # apply twice with the same seed and compare
    determinism_tol: float = 0.0      # max fraction of validation predictions allowed to differ
    extra_guard_dirs: tuple = ()      # hashed before/after besides the session's store (e.g. ./results)


class SubmittedMethodError(SlimBenchError):
    """The submitted method raised an exception (type and message in the text)."""


class MethodTimeoutError(SubmittedMethodError):
    pass


class MethodMemoryError(SubmittedMethodError):
    pass


class MethodCrashedError(SubmittedMethodError):
    pass


class NonDeterminismError(SubmittedMethodError):
    pass


class WorkerTraceback(Exception):
    """Carries the worker's traceback text so that it shows in the failed record's traceback."""


@dataclass
class WorkerOutcome:
    payload: dict
    scratch: Path
    elapsed_s: float


def _worker_env() -> dict[str, str]:
    """The sandbox's whole environment (bwrap --clearenv): paths inside it, nothing from the harness's."""
    inside = sandbox.INSIDE
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(inside / "home"), "TMPDIR": str(inside / "tmp"),
        "USER": "sandbox", "LOGNAME": "sandbox",
        "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "SLIMBENCH_OFFLINE": "1", "SLIMBENCH_CACHE": str(inside / "home" / "cache"),
        "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "MPLCONFIGDIR": str(inside / "tmp"), "NO_PROXY": "", "no_proxy": "",
    }
    for var in ("http_proxy", "https_proxy", "ftp_proxy", "all_proxy"):
        env[var] = env[var.upper()] = NOWHERE_PROXY
    for var in ("LANG", "LC_ALL", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "VIRTUAL_ENV"):
        if var in os.environ:
            env[var] = os.environ[var]
    return env


def new_scratch() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="slimbench-isolated-"))
    for sub in ("home", "tmp", "data", "method", "in", worker_module.OUT_DIR):
        (scratch / sub).mkdir()
    return scratch


def inside(scratch: Path, path: Path) -> Path:
    """Where a file under the scratch directory appears inside the sandbox."""
    return sandbox.INSIDE / Path(path).relative_to(scratch)


def localize_spec(spec: str, scratch: Path) -> str:
    """Copy every method file a spec names into the scratch directory and point the spec at the copies
    (as the sandbox sees them)."""
    from suite.methodspec import FILE, MethodSpec

    parsed = MethodSpec.parse(spec)
    parsed.check_files_exist()
    stages = []
    for i, stage in enumerate(parsed.stages):
        if stage.kind == FILE:
            dest = scratch / "method" / stage.path.name
            if dest.exists():
                dest = scratch / "method" / f"{i}_{stage.path.name}"
            shutil.copyfile(stage.path, dest)
            stage = stage.with_path(inside(scratch, dest))
        stages.append(stage)
    return parsed.with_stages(stages).text


def run_worker(request: dict, scratch: Path, wall_time_s: float, who: str,
               read_only: list[tuple[Path, Path]] = (), hide: list[Path] = ()) -> WorkerOutcome:
    """Start the worker inside a fresh sandbox, kill the whole sandbox at the wall-time limit, read result.json.

    The request, the data arrays and the method source are bound read-only on top of the writable scratch."""
    sandbox.require_sandbox(who)
    (scratch / worker_module.REQUEST).write_text(json.dumps(request))
    memory_mb = request.get("memory_mb")
    mounts = sandbox.Mounts(read_only=[(scratch / worker_module.REQUEST, sandbox.INSIDE / worker_module.REQUEST),
                                       (scratch / "data", sandbox.INSIDE / "data"),
                                       (scratch / "method", sandbox.INSIDE / "method"),
                                       *[(Path(h), Path(i)) for h, i in read_only]],
                            hide=list(hide))
    limits = sandbox.Limits(wall_s=wall_time_s, memory_mb=memory_mb)
    ran = sandbox.run(scratch, [sys.executable, "-s", "-m", "suite.submission.worker", str(sandbox.INSIDE)],
                      _worker_env(), limits, mounts)
    tail = ran.output_tail
    if ran.timed_out:
        raise MethodTimeoutError(f"{who} exceeded its wall-time limit of {wall_time_s:g} s and its sandbox was "
                                 "killed (every process in it)")
    result_path = scratch / worker_module.RESULT
    if ran.returncode != 0 or not result_path.is_file():
        how = (f"was killed by signal {signal.Signals(-ran.returncode).name}" if ran.returncode < 0
               else f"exited with status {ran.returncode}")
        hint = (f" (its memory limit is {memory_mb} MB of address space; an allocation failure inside native "
                "code ends the process like this)" if memory_mb else "")
        raise MethodCrashedError(f"{who} crashed: the worker process {how} without a result{hint}. "
                                 f"Last output: {tail[-1500:] or '(none)'}")
    if result_path.is_symlink() or result_path.stat().st_size > MAX_RESULT_BYTES:
        raise MethodCrashedError(f"{who}: result.json is not a plain file under {MAX_RESULT_BYTES} bytes")
    try:
        payload = json.loads(result_path.read_text(), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise MethodCrashedError(f"{who}: the worker's result.json is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise MethodCrashedError(f"{who}: the worker's result.json is not an object")
    if not payload.get("ok"):
        raise_worker_error(payload.get("error") or {}, who, memory_mb)
    payload["sandbox"] = {"process_limit": ran.process_limit}
    return WorkerOutcome(payload, scratch, ran.elapsed_s)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def raise_worker_error(error: dict, who: str, memory_mb: int | None):
    etype, message = str(error.get("type", "Exception")), str(error.get("message", ""))
    cause = WorkerTraceback(str(error.get("traceback") or "(no traceback)"))
    if etype == "MemoryError":
        raise MethodMemoryError(f"{who} ran out of memory under its limit of {memory_mb} MB "
                                f"(address space, from the track budget's memory_mb): MemoryError: {message}") from cause
    known = getattr(errors, etype, None)
    if isinstance(known, type) and issubclass(known, SlimBenchError) and known is not SlimBenchError:
        try:
            exc = known(message)
        except TypeError:  # an error class with a different constructor
            exc = SubmittedMethodError(f"{who} raised {etype}: {message}")
        raise exc from cause
    raise SubmittedMethodError(f"{who} raised {etype}: {message}") from cause


def write_data(scratch: Path, context) -> dict:
    files = {}
    for name in ("train", "validation", "calibration"):
        split = getattr(context, name)
        x_file, y_file = f"data/{name}_x.npy", f"data/{name}_y.npy"
        np.save(scratch / x_file, np.ascontiguousarray(split.x), allow_pickle=False)
        np.save(scratch / y_file, np.ascontiguousarray(split.y), allow_pickle=False)
        files[name] = [x_file, y_file]
    return files


def collect_artifacts(outcome: WorkerOutcome, dest: Path, who: str):
    """Check the worker's artifact descriptions and move the files into the harness workdir."""
    from suite.artifacts import FORMATS, ExportedArtifact

    out_dir = (outcome.scratch / worker_module.OUT_DIR).resolve()
    described = outcome.payload.get("artifacts")
    if not isinstance(described, list) or not described:
        raise SubmittedMethodError(f"{who} returned no artifact")
    dest.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for i, item in enumerate(described):
        try:
            fmt, layout, rel = item["format"], item["input_layout"], item["path"]
            src = (out_dir / rel)
            if fmt not in FORMATS or layout not in FORMAT_LAYOUTS or item.get("input_dtype", "float32") not in INPUT_DTYPES:
                raise ValueError(f"format {fmt!r} / layout {layout!r} / dtype {item.get('input_dtype')!r}")
            if src.is_symlink() or not src.is_file() or out_dir not in src.resolve().parents:
                raise ValueError(f"{rel!r} is not a plain file under the method's workdir")
            if src.stat().st_size > MAX_ARTIFACT_BYTES:
                raise ValueError(f"{rel!r} is {src.stat().st_size} bytes, over the {MAX_ARTIFACT_BYTES} byte cap")
            params, nonzero = int(item["params"]), int(item["nonzero_params"])
            info = item.get("info") or {}
            if not isinstance(info, dict):
                raise ValueError("info is not an object")
            info_bytes = len(json.dumps(info))
            if info_bytes > MAX_INFO_BYTES:
                raise ValueError(f"info is {info_bytes} bytes of JSON, over the {MAX_INFO_BYTES}-byte cap "
                                 "(records are capped at 1 MB)")
        except (KeyError, TypeError, ValueError) as exc:
            raise SubmittedMethodError(f"{who} returned an invalid artifact description #{i}: {exc}") from None
        target = dest / f"{i}_{src.name}"
        shutil.move(str(src), target)
        artifacts.append(ExportedArtifact(fmt, target, layout, params, nonzero, str(item.get("framework", "")),
                                          info, item.get("input_dtype", "float32")))
    return artifacts


def apply_isolated(spec: str, params: dict, context, guard_dirs: list[Path],
                   settings: IsolationSettings | None = None) -> list:
    """Apply a submitted method in a worker; returns ExportedArtifacts under context.workdir."""
    from suite.submission import storeguard

    settings = settings or IsolationSettings()
    check_finite(float(settings.determinism_tol), "determinism tolerance")
    budget = context.budget
    wall = float(settings.wall_time_s or budget.wall_time_s)
    memory_mb = int(settings.memory_mb or budget.memory_mb)
    who = f"submitted method {spec!r}"
    runs = 2 if settings.check_determinism else 1
    results = []
    before = storeguard.snapshot([*guard_dirs, *settings.extra_guard_dirs])
    try:
        for run in range(runs):
            scratch = new_scratch()
            try:
                request = {"mode": "apply", "spec": localize_spec(spec, scratch), "params": params,
                           "track": context.track, "seed": context.seed, "formats": list(context.formats),
                           "device": context.device, "budget": budget.to_dict(), "memory_mb": memory_mb,
                           "data": write_data(scratch, context)}
                outcome = run_worker(request, scratch, wall, who)
                dest = Path(context.workdir) / (f"run{run}" if runs > 1 else "")
                results.append((collect_artifacts(outcome, dest, who), outcome.elapsed_s))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    finally:
        storeguard.check_and_restore(before, who)
    artifacts, elapsed = results[0]
    for artifact in artifacts:
        artifact.info = {**artifact.info, "isolated": {"wall_time_s": round(elapsed, 3), "wall_limit_s": wall,
                                                       "memory_limit_mb": memory_mb}}
    if runs > 1:
        report = compare_runs(artifacts, results[1][0], context, settings.determinism_tol, who)
        for artifact in artifacts:
            artifact.info["determinism"] = report
    return artifacts


def compare_runs(first: list, second: list, context, tol: float, who: str) -> dict:
    """Same seed, two runs: byte-identical artifacts, or validation predictions within `tol` (predicted inside
    the sandbox: a submitted artifact is never loaded in the harness process)."""
    from suite.targets import TARGETS

    by_format = {a.format: a for a in second}
    report = {"runs": 2, "identical_bytes": True, "validation_disagreement": 0.0, "tolerance": tol}
    for a in first:
        b = by_format.get(a.format)
        if b is None:
            raise NonDeterminismError(f"{who}: the second run with the same seed produced no {a.format} artifact")
        if a.sha256() == b.sha256():
            continue
        report["identical_bytes"] = False
        target = next((t() for t in TARGETS if a.format in t.formats and t().unavailable_reason() is None), None)
        if target is None:
            raise NonDeterminismError(f"{who}: {a.format} artifacts differ between two runs with the same seed "
                                      "and no runtime here can compare their predictions")
        x = context.validation.x
        wall, memory_mb = float(context.budget.wall_time_s), int(context.budget.memory_mb)
        pa = predict_isolated(a, target.name, x, wall, memory_mb, context.num_classes, who)
        pb = predict_isolated(b, target.name, x, wall, memory_mb, context.num_classes, who)
        disagree = float((pa != pb).mean())
        report["validation_disagreement"] = max(report["validation_disagreement"], disagree)
    if report["validation_disagreement"] > tol:
        raise NonDeterminismError(
            f"{who} is not deterministic: two runs with seed {context.seed} disagree on "
            f"{report['validation_disagreement']:.2%} of validation predictions (tolerance {tol:.2%})")
    return report


# -- measuring a submitted artifact: in a sandbox of its own ---------------------------------------------

def _artifact_request(artifact, scratch: Path, name: str, read_only: list) -> dict:
    """Bind the artifact read-only into the sandbox as in/<name>; describe it for the worker."""
    inside_path = sandbox.INSIDE / "in" / name
    (scratch / "in" / name).touch()  # the mount point
    read_only.append((Path(artifact.path).resolve(), inside_path))
    return {"format": artifact.format, "path": f"in/{name}", "input_layout": artifact.input_layout,
            "input_dtype": artifact.input_dtype, "params": int(artifact.params),
            "nonzero_params": int(artifact.nonzero_params), "framework": artifact.framework}


def _read_predictions(scratch: Path, n: int, num_classes: int, who: str) -> np.ndarray:
    path = scratch / worker_module.OUT_DIR / "predictions.npy"
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 64 + 8 * n + 1024:
            raise ValueError("missing, not a plain file or too large")
        predictions = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MethodCrashedError(f"{who}: the artifact's predictions could not be read ({exc})") from None
    if predictions.shape != (n,) or predictions.dtype != np.int64 or \
            (n and (predictions.min() < 0 or predictions.max() >= num_classes)):
        raise MethodCrashedError(f"{who}: the artifact's predictions are not {n} class indices in "
                                 f"[0, {num_classes}) (shape {predictions.shape}, dtype {predictions.dtype})")
    return predictions


def predict_isolated(artifact, target_name: str, x: np.ndarray, wall_s: float, memory_mb: int,
                     num_classes: int, who: str) -> np.ndarray:
    scratch = new_scratch()
    try:
        np.save(scratch / "data" / "x.npy", np.ascontiguousarray(x), allow_pickle=False)
        read_only: list = []
        request = {"mode": "predict", "target": target_name, "x": "data/x.npy", "memory_mb": memory_mb,
                   "artifact": _artifact_request(artifact, scratch, "artifact", read_only)}
        run_worker(request, scratch, wall_s, f"{who} (its artifact)", read_only)
        return _read_predictions(scratch, len(x), num_classes, f"{who} (its artifact)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass
class IsolatedMeasurement:
    predictions: np.ndarray
    counted: dict
    single: dict
    offline: dict
    threads: dict
    memory: dict | None
    elapsed_s: float
    process_limit: str


def measure_isolated(artifact, baseline, target_name: str, test_x: np.ndarray, latency: dict, memory: bool,
                     input_shape: tuple, num_classes: int, budget, who: str,
                     settings: IsolationSettings | None = None) -> IsolatedMeasurement:
    """Counts, predictions, latency (interleaved with the fp32 baseline) and memory of a submitted artifact,
    all inside a sandbox with the track budget's wall-time and memory limits. Only the test *inputs* go in
    (read-only); the labels stay with the harness, which computes the accuracy from the predictions."""
    who = f"{who} (its {artifact.format} artifact)"
    settings = settings or IsolationSettings()
    wall = float(settings.measure_wall_time_s or settings.wall_time_s or budget.wall_time_s)
    memory_mb = int(settings.memory_mb or budget.memory_mb)
    scratch = new_scratch()
    try:
        np.save(scratch / "data" / "test_x.npy", np.ascontiguousarray(test_x), allow_pickle=False)
        read_only: list = []
        request = {"mode": "measure", "target": target_name, "x": "data/test_x.npy", "latency": latency,
                   "memory": bool(memory), "input_shape": list(input_shape), "memory_mb": memory_mb,
                   "artifact": _artifact_request(artifact, scratch, "artifact" + Path(artifact.path).suffix,
                                                 read_only),
                   "baseline": _artifact_request(baseline, scratch, "baseline" + Path(baseline.path).suffix,
                                                 read_only)}
        outcome = run_worker(request, scratch, wall, who, read_only)
        payload = outcome.payload
        predictions = _read_predictions(scratch, len(test_x), num_classes, who)
        try:
            counted = {"params": int(payload["counted"]["params"]),
                       "nonzero_params": int(payload["counted"]["nonzero_params"]),
                       "params_by_bits": {str(int(k)): int(v) for k, v in payload["counted"]["params_by_bits"].items()}}
            single, offline = payload["single"], payload["offline"]
            for part in (single, offline):
                for key in ("method", "fp32"):
                    check_finite(part[key], f"{who}: measured latency")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MethodCrashedError(f"{who}: the measurement's result is malformed ({exc})") from None
        return IsolatedMeasurement(predictions, counted, single, offline, payload.get("threads") or {},
                                   payload.get("memory"), outcome.elapsed_s, payload["sandbox"]["process_limit"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def describe_isolated(spec: str, params: dict, guard_dirs: list[Path] | None = None) -> dict:
    """Class attributes and validated config of a submitted spec, read in a worker (the harness process
    never imports the submitted file)."""
    from suite.submission import storeguard

    who = f"submitted method {spec!r}"
    before = storeguard.snapshot(guard_dirs or [])
    scratch = new_scratch()
    try:
        request = {"mode": "describe", "spec": localize_spec(spec, scratch), "params": params,
                   "memory_mb": DESCRIBE_MEMORY_MB}
        return run_worker(request, scratch, DESCRIBE_WALL_S, who).payload["describe"]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        storeguard.check_and_restore(before, who)
