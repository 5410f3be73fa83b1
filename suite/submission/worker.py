"""The isolated side of a submitted method: `python -m suite.submission.worker SCRATCH_DIR`.

The harness writes SCRATCH_DIR/request.json and the train/validation/calibration arrays as .npy files;
this process sets its resource limits, disables networking, builds the MethodContext, applies the
method (or, in "describe" mode, only reads its class attributes and config) and writes
SCRATCH_DIR/result.json plus the artifact files under SCRATCH_DIR/out. Nothing is pickled; the
process never learns where the record store is and has no test split to read (the test-split guard
is active as well, so `track.load_splits().test` raises TestSplitAccessError).

Exit status 0 means "result.json written" (which may itself report the method's exception)."""
from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

RESULT = "result.json"
REQUEST = "request.json"
OUT_DIR = "out"
MAX_FILE_BYTES = 4 << 30  # a single file the method writes (RLIMIT_FSIZE): keeps a runaway writer off the disk


def set_limits(memory_mb: int | None) -> None:
    """Hard limits (the method cannot raise them again): address space and core dumps."""
    if memory_mb:
        limit = int(memory_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))


def _write_result(scratch: Path, payload: dict) -> None:
    tmp = scratch / (RESULT + ".tmp")
    try:
        text = json.dumps(payload, default=_json_default, allow_nan=False)
    except ValueError as exc:  # NaN / infinity somewhere in what the method returned
        text = json.dumps({"ok": False, "error": {"type": "NonFiniteError", "message": f"the method's result "
                                                  f"holds a number that is not finite (NaN or infinity): {exc}",
                                                  "traceback": ""}})
    tmp.write_text(text)
    os.replace(tmp, scratch / RESULT)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _error(exc: BaseException) -> dict:
    return {"type": type(exc).__name__, "message": str(exc) or repr(exc),
            "traceback": traceback.format_exc()[-20000:]}


def describe(request: dict) -> dict:
    """Class attributes and the validated config of the method spec (never applies it)."""
    import dataclasses

    from methods.describe import describe_class, describe_parameters
    from methods.resolve import load_method_class, resolve_method, resolve_method_class
    from suite.errors import ConfigError
    from suite.methodspec import MethodSpec

    cls = resolve_method_class(request["spec"])
    out = {"name": getattr(cls, "name", None), "family": getattr(cls, "family", None),
           "framework": getattr(cls, "framework", None), "description": getattr(cls, "description", ""),
           "formats": list(getattr(cls, "formats", ()) or ()), "class": cls.__name__,
           "source_sha256": getattr(cls, "source_sha256", None), "params": None, "config_error": None,
           "stage_names": None}
    spec = MethodSpec.parse(request["spec"])
    if spec.is_chain:  # each stage's method name (what records show; never the sandbox path of a file)
        stage_classes = [load_method_class(s) for s in spec.stages]
        out["stage_names"] = [getattr(c, "name", None) or s.label for s, c in zip(spec.stages, stage_classes)]
        out["stages"] = [describe_class(c) for c in stage_classes]
    else:
        out["parameters"] = describe_parameters(cls)  # `slimbench describe`
    try:
        method = resolve_method(request["spec"], request.get("params") or {})
        params = method.params()
        out["params"] = json.loads(json.dumps(params if isinstance(params, dict) else dataclasses.asdict(params),
                                              default=_json_default, allow_nan=False))
    except ConfigError as exc:
        out["config_error"] = str(exc)
    except ValueError as exc:  # json refuses NaN / infinity
        out["config_error"] = f"{request['spec']}: a parameter is not a finite number (NaN or infinity): {exc}"
    return out


def apply(request: dict, scratch: Path) -> dict:
    from types import SimpleNamespace

    import numpy as np

    from methods.resolve import resolve_method
    from suite.artifacts import ExportedArtifact
    from suite.context import make_context
    from suite.data.guard import forbid_test_access
    from suite.data.splits import Split
    from suite.tracks import get_track
    from suite.tracks.base import Budget, ReferenceModel
    from suite.tracks.training import seed_everything

    def split(name: str) -> Split:
        x_file, y_file = request["data"][name]
        return Split(np.load(scratch / x_file, allow_pickle=False), np.load(scratch / y_file, allow_pickle=False))

    track = get_track(request["track"])
    method = resolve_method(request["spec"], request.get("params") or {})
    out_dir = (scratch / OUT_DIR).resolve()
    data = SimpleNamespace(train=split("train"), validation=split("validation"), calibration=split("calibration"))
    context = make_context(track, data, int(request["seed"]), out_dir, request["formats"],
                           budget=Budget(**request["budget"]), device=request.get("device", "cpu"))
    seed_everything(context.seed)
    with forbid_test_access(f"method {request['spec']!r}"):
        result = method.apply(ReferenceModel(track), context)
    artifacts = [result] if isinstance(result, ExportedArtifact) else list(result or [])
    described = []
    for artifact in artifacts:
        if not isinstance(artifact, ExportedArtifact):
            raise TypeError(f"apply() must return ExportedArtifact(s), got {type(artifact).__name__}")
        path = Path(artifact.path).resolve()
        if out_dir not in path.parents:
            raise ValueError(f"artifact {artifact.path} is outside context.workdir ({out_dir}); "
                             "write artifacts under context.workdir")
        described.append({"format": artifact.format, "path": str(path.relative_to(out_dir)),
                          "input_layout": artifact.input_layout, "params": int(artifact.params),
                          "nonzero_params": int(artifact.nonzero_params), "framework": artifact.framework,
                          "info": artifact.info, "input_dtype": artifact.input_dtype})
    return {"artifacts": described}


def _artifact(spec: dict, scratch: Path):
    from suite.artifacts import ExportedArtifact

    return ExportedArtifact(spec["format"], scratch / spec["path"], spec["input_layout"], int(spec["params"]),
                            int(spec["nonzero_params"]), spec.get("framework", ""), {},
                            spec.get("input_dtype", "float32"))


def _predictions(runner, artifact, x):
    import numpy as np

    from suite.measure.accuracy import predict_all
    from suite.targets.base import to_layout

    feed = to_layout(x.astype(artifact.input_dtype, copy=False), artifact.input_layout)
    return feed, np.asarray(predict_all(runner, feed)).astype(np.int64)


def predict(request: dict, scratch: Path) -> dict:
    """Predictions of one (submitted) artifact on the given inputs, written to out/predictions.npy."""
    import numpy as np

    from suite.targets import get_target

    artifact = _artifact(request["artifact"], scratch)
    x = np.load(scratch / request["x"], allow_pickle=False)
    _, predictions = _predictions(get_target(request["target"]).load(artifact), artifact, x)
    np.save(scratch / OUT_DIR / "predictions.npy", predictions, allow_pickle=False)
    return {"predictions": "predictions.npy"}


def measure(request: dict, scratch: Path) -> dict:
    """Everything the harness measures on a submitted artifact, done here (in the sandbox): its parameters
    counted from the file, its predictions on the inputs (the harness holds the labels), latency and
    throughput interleaved with the session's fp32 baseline artifact, and peak memory."""
    import numpy as np

    from suite.measure.latency import LatencySettings, measure_offline, measure_single_stream
    from suite.submission.counting import count_artifact
    from suite.targets import get_target

    target = get_target(request["target"])
    artifact, baseline = _artifact(request["artifact"], scratch), _artifact(request["baseline"], scratch)
    counted = count_artifact(artifact.format, artifact.path)
    x = np.load(scratch / request["x"], allow_pickle=False)
    runner, base_runner = target.load(artifact), target.load(baseline)
    feed, predictions = _predictions(runner, artifact, x)
    np.save(scratch / OUT_DIR / "predictions.npy", predictions, allow_pickle=False)
    from suite.targets.base import to_layout
    base_feed = to_layout(x.astype(baseline.input_dtype, copy=False), baseline.input_layout)
    settings = LatencySettings(**request["latency"])
    fns, xs = {"method": runner.predict, "fp32": base_runner.predict}, {"method": feed, "fp32": base_feed}
    reload = {"method": lambda: target.load(artifact).predict, "fp32": lambda: target.load(baseline).predict}
    single = measure_single_stream(fns, xs, settings, reload=reload)
    offline = measure_offline(fns, xs, settings, reload=reload)
    memory = None
    if request.get("memory"):
        from suite.measure.memory import measure_peak_memory
        memory = measure_peak_memory(target.name, artifact, tuple(request["input_shape"]))
    return {"predictions": "predictions.npy", "counted": counted, "single": single, "offline": offline,
            "threads": runner.threads, "memory": memory}


def main(argv: list[str]) -> int:
    scratch = Path(argv[0]).resolve()
    request = json.loads((scratch / REQUEST).read_text())
    set_limits(request.get("memory_mb"))
    start = time.perf_counter()
    try:
        if request["mode"] == "describe":
            payload = {"ok": True, "describe": describe(request)}
        elif request["mode"] == "measure":
            payload = {"ok": True, **measure(request, scratch)}
        elif request["mode"] == "predict":
            payload = {"ok": True, **predict(request, scratch)}
        else:
            payload = {"ok": True, **apply(request, scratch)}
    except MemoryError as exc:
        payload = {"ok": False, "error": {"type": "MemoryError", "message": str(exc) or "out of memory",
                                          "traceback": ""}}
    except BaseException as exc:  # noqa: BLE001 - anything the method raises (SystemExit too) is its result
        payload = {"ok": False, "error": _error(exc)}
    payload["elapsed_s"] = time.perf_counter() - start
    _write_result(scratch, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
