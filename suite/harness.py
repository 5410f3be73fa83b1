"""Runs (method x track x target): apply the method, measure its artifact in the target runtime,
write one record. A method that fails yields a *failed* record with the reason; the session goes on."""
from __future__ import annotations

import dataclasses
import json
import shlex
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from suite.artifact_content import artifact_section
from suite.artifacts import ExportedArtifact, pick_artifact
from suite.appliers import IN_PROCESS
from suite.context import make_context
from suite.data.splits import Split
from suite.errors import ArtifactFormatError, ConfigError, RecordError, SlimBenchError, TargetUnavailableError
from suite.finite import check_finite
from suite.measure import between_runs
from suite.measure.latency import LatencySettings, speed_fields
from suite.methodspec import MethodSpec
from suite.records import provenance
from suite.records.sections import Latency, Memory, Results, Size, Throughput
from suite.records.store import RecordStore


@dataclass(frozen=True)
class RunSpec:
    track: str
    method: str
    target: str
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def command(self) -> str:
        parts = ["slimbench", "run", "--track", self.track, "--method", self.method, "--target", self.target,
                 "--seed", str(self.seed)]
        for key, value in sorted(self.params.items()):
            parts += ["--param", f"{key}={_param_str(value)}"]
        return shlex.join(parts)


def _param_str(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


@dataclass
class Measured:
    artifact: ExportedArtifact
    runner: Any
    feed_x: np.ndarray
    accuracy: float
    predictions: np.ndarray


class Session:
    """One benchmarking session. fp32 baselines are built once per (track, target) and re-timed,
    interleaved, next to every method so that speedups are same-session ratios."""

    def __init__(self, store: Path | RecordStore, settings: LatencySettings | None = None,
                 workdir: Path | None = None, measure_memory: bool = True, kind: str = "run",
                 applier=None):
        self.store = store if isinstance(store, RecordStore) else RecordStore(Path(store))
        self.settings = settings or LatencySettings()
        self.id = uuid.uuid4().hex[:12]
        self.workdir = Path(workdir or Path.cwd() / ".slimbench-work") / self.id
        self.measure_memory = measure_memory
        self.kind = kind
        # How methods are applied and measured (suite.appliers): in-process by default (submitted code refused);
        # callers that run submitted code pass suite.submission.launcher.isolated(settings).
        self.applier = applier if applier is not None else IN_PROCESS
        self._baselines: dict[tuple[str, str], Measured] = {}

    def settings_for(self, track) -> LatencySettings:
        """The session's latency settings, or the track's own when the session runs the defaults (speed tracks'
        big models need fewer queries than LatencySettings' defaults sized for tiny models)."""
        own = getattr(track, "latency_settings", None)
        return own if own is not None and self.settings == LatencySettings() else self.settings

    # -- resolution ---------------------------------------------------------------------------
    def resolve(self, spec: RunSpec):
        """Track, method class and target; unknown names raise UnknownNameError listing the valid ones."""
        from suite.targets import get_target
        from suite.tracks import get_track

        track, target = get_track(spec.track), get_target(spec.target)
        return track, self.applier.method_class(spec), target

    # -- one run ------------------------------------------------------------------------------
    def run(self, spec: RunSpec) -> dict:
        """Resolve, check, run and record. Unknown names, an unavailable target and incompatible formats
        raise before anything is written; from the method's config on, every outcome yields a record."""
        return self.run_targets(spec, [spec.target])[0]

    def run_targets(self, spec: RunSpec, targets: list[str]) -> list[dict]:
        """One record per target, from ONE application of the method: it is configured and applied (trained)
        once for (track, seed, params), exporting every format the targets run, then each target measures its
        artifact. `spec.target` is ignored. What `submit` uses: training a method again per target would cost
        N trainings for the same weights. Each target is checked before anything runs or is written."""
        resolved = []
        for name in targets:
            one = dataclasses.replace(spec, target=name)
            track, method_cls, target = self.resolve(one)
            self._check(one, track, method_cls, target)
            resolved.append((one, target))
        records = [self._base_record(one, track, method_cls) for one, _ in resolved]
        if len(resolved) > 1:
            for record in records:  # the record says its artifact came from a shared application
                record["config"]["applied_once_for_targets"] = [one.target for one, _ in resolved]
        errors: list[dict | None] = [None] * len(resolved)
        phase = "config"
        artifacts, splits = [], None
        try:
            method = self.applier.configure(method_cls, spec)
            params = method.params()
            for record in records:
                record["config"]["method_params"] = params
            check_finite(params, f"method {spec.method!r} parameter")
            phase = "method"
            splits = track.load_splits()
            formats = tuple(dict.fromkeys(f for _, target in resolved for f in target.formats))
            artifacts = self._apply(method, track, "+".join(t.name for _, t in resolved), formats, splits, spec)
        except Exception as exc:  # bad config, a crashing method: every target's record says so
            errors = [_error(exc, phase)] * len(resolved)
        out = []
        for (one, target), record, error in zip(resolved, records, errors):
            if error is None:
                self._measure_into(record, one, track, target, splits, artifacts)
            else:
                record["status"], record["error"] = "failed", error
            out.append(self._write(record, target))
        return out

    def _check(self, spec: RunSpec, track, method_cls, target) -> None:
        reason = target.unavailable_reason()
        if reason:
            raise TargetUnavailableError(f"target {target.name!r} is not available here: {reason}")
        if target.name in track.unsupported_targets:
            raise ArtifactFormatError(f"track {track.name!r} does not run on target {target.name!r}: "
                                      f"{track.unsupported_targets[target.name]}")
        refusal = training_refusal(track, method_cls) or chain_refusal(track, spec.method)
        if refusal:
            raise ConfigError(refusal)
        if not set(method_cls.formats) & set(target.formats):
            raise ArtifactFormatError(
                f"method {spec.method!r} produces {', '.join(method_cls.formats)} artifacts; target "
                f"{target.name!r} runs {', '.join(target.formats)}")

    def _measure_into(self, record: dict, spec: RunSpec, track, target, splits, artifacts) -> None:
        phase = "export"
        try:
            artifact = pick_artifact(artifacts, target.formats)
            if artifact is None:
                raise ArtifactFormatError(f"method {spec.method!r} returned {[a.format for a in artifacts]}; "
                                          f"target {target.name!r} runs {', '.join(target.formats)}")
            phase = "measure"
            measured = self.applier.measure(self, track, target, splits, artifact, spec)
            record["provenance"]["threads"] = measured.pop("threads")
            record.update(measured)
            # the machine's between-run spread (from --repeat groups) joins the run's own interval; done here, in
            # the harness, since a submission's measurement runs in a sandbox that cannot read the cache
            between_runs.widen(record["results"], target.name, record["provenance"].get("cpu") or {},
                               record["provenance"].get("hostname"))
            over = over_budget(record["results"].get("method_info"))
            if over:
                record["over_budget"] = over
            record["status"] = "ok"
        except Exception as exc:  # a crashing artifact or runtime: record it, keep the session going
            record["status"], record["error"] = "failed", _error(exc, phase)

    def _write(self, record: dict, target) -> dict:
        record["provenance"]["runtime"] = {"target": target.name, "runtime": target.runtime,
                                           "version": target.runtime_version(),
                                           "threads": target.thread_count(), "thread_policy": target.thread_policy()}
        try:
            path = self.store.write(record)
        except RecordError as exc:  # the record itself is refused (over the size cap, NaN): say so in a failed one
            for key in ("results", "artifact"):
                record.pop(key, None)
            record["status"] = "failed"
            record["error"] = {"type": "RecordError", "message": str(exc)[:2000], "phase": "record"}
            path = self.store.write(record)
        return json.loads(path.read_text())

    def _base_record(self, spec: RunSpec, track, method_cls) -> dict:
        splits_sha = {}
        try:
            from suite.data.fetch import card_checksums
            splits_sha = card_checksums(track.dataset)
        except SlimBenchError:
            pass
        # Submitted files are named without their directory (the source is identified by its sha256; a scratch
        # path means nothing to a reader); a chain's submitted stages each carry their own source sha256.
        parsed = MethodSpec.parse(spec.method)
        shown = dataclasses.replace(spec, method=parsed.label) if parsed.submitted else spec
        stage_sources = getattr(method_cls, "stage_sources", None)
        return {
            "kind": self.kind,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "config": {
                "track": spec.track, "method": shown.method, "method_params": dict(spec.params),
                "method_family": method_cls.family, "method_framework": method_cls.framework,
                "method_source_sha256": getattr(method_cls, "source_sha256", None),
                "target": spec.target, "seed": spec.seed, "budget": track.budget.to_dict(),
                **({"method_stages": stage_sources} if stage_sources else {}),
                "latency_settings": self.settings_for(track).to_dict(), "command": shown.command(),
                "track_kind": track.kind,
                **({"synthetic_inputs": track.synthetic_inputs} if track.kind == "speed" else {}),
            },
            "provenance": {**provenance.collect(), "dataset": {"name": track.dataset, "sha256": splits_sha},
                           "checkpoint_sha256": track.meta.get("sha256"), "session": self.id},
        }

    def _apply(self, method, track, target_names: str, formats: tuple[str, ...], splits,
               spec: RunSpec) -> list[ExportedArtifact]:
        stem = (f"{track.name}__{spec.method.replace('/', '_').replace(':', '_')}__{target_names}__"
                f"{uuid.uuid4().hex[:6]}")
        context = make_context(track, splits, spec.seed, self.workdir / stem, formats)
        return self.applier.apply(self, method, track, context, spec)

    # -- measurement --------------------------------------------------------------------------
    def _load(self, target, artifact: ExportedArtifact, test: Split) -> Measured:
        from suite.measure.accuracy import predict_all, top1
        from suite.targets.base import to_layout

        runner = target.load(artifact)
        feed_x = to_layout(test.x.astype(artifact.input_dtype, copy=False), artifact.input_layout)
        predictions = predict_all(runner, feed_x)
        return Measured(artifact, runner, feed_x, top1(predictions, test.y), predictions)

    def baseline(self, track, target, splits) -> Measured:
        """The fp32 artifact of (track, target), built once per session."""
        key = (track.name, target.name)
        if key not in self._baselines:
            from methods.baseline import Fp32
            context = make_context(track, splits, 0, self.workdir / f"{track.name}__fp32-baseline__{target.name}",
                                   target.formats)
            from suite.tracks.base import ReferenceModel
            artifact = pick_artifact(Fp32().apply(ReferenceModel(track), context), target.formats)
            self._baselines[key] = self._load(target, artifact, splits.test)
        return self._baselines[key]

    def measure_in_process(self, track, target, splits, artifact: ExportedArtifact, is_baseline: bool) -> dict:
        from suite.measure.latency import measure_offline, measure_single_stream
        from suite.measure.memory import measure_peak_memory

        test = splits.test
        base = self.baseline(track, target, splits)
        this = base if is_baseline else self._load(target, artifact, test)
        fns, xs = {"method": this.runner.predict}, {"method": this.feed_x}
        if not is_baseline:
            fns["fp32"], xs["fp32"] = base.runner.predict, base.feed_x
        settings = self.settings_for(track)
        # fresh runtime sessions of both artifacts for the sub-sessions (suite.measure.latency: the interval then
        # covers the between-session spread)
        reload = None if is_baseline else {"method": lambda: target.load(artifact).predict,
                                           "fp32": lambda: target.load(base.artifact).predict}
        single = measure_single_stream(fns, xs, settings, reload=reload)
        offline = measure_offline(fns, xs, settings, reload=reload)
        base_single = single["method"] if is_baseline else single["fp32"]
        base_offline = offline["method"] if is_baseline else offline["fp32"]
        notes = []
        speed_single = base_single["p50_ms"] / single["method"]["p50_ms"]
        speed_offline = offline["method"]["samples_per_s"] / base_offline["samples_per_s"]
        if speed_single < 1.0 and not is_baseline:
            notes.append(f"slower than fp32 at batch 1 on {target.name} ({speed_single:.2f}x): per-call overhead "
                         f"dominates tiny models; see the offline (batch {settings.offline_batch}) speedup")
        memory = measure_peak_memory(target.name, artifact, track.input_shape) if self.measure_memory else None
        size = Size(artifact_bytes=artifact.bytes, gzip_bytes=artifact.gzip_bytes(), params=int(artifact.params),
                    nonzero_params=int(artifact.nonzero_params), baseline_artifact_bytes=base.artifact.bytes,
                    compression_ratio=base.artifact.bytes / artifact.bytes,
                    gzip_compression_ratio=base.artifact.gzip_bytes() / artifact.gzip_bytes())
        results = Results(
            **accuracy_fields(track, this.accuracy, base.accuracy), test_samples=int(len(test)),
            prediction_agreement_fp32=float((this.predictions == base.predictions).mean()),
            latency_single_stream=Latency.from_dict(single["method"]),
            baseline_latency_single_stream=None if is_baseline else Latency.from_dict(base_single),
            speedup_single_stream=1.0 if is_baseline else speed_single,
            throughput_offline=Throughput.from_dict(offline["method"]),
            baseline_throughput_offline=None if is_baseline else Throughput.from_dict(base_offline),
            speedup_offline=1.0 if is_baseline else speed_offline,
            **speed_fields(single, offline, notes),  # 95% intervals, rounds, what stopped them, load
            memory=Memory.from_dict(memory), size=size, method_info=_jsonable(artifact.info), notes=notes)
        return {
            "results": results.to_dict(),
            "artifact": artifact_section(artifact),
            "threads": this.runner.threads,
        }


def _error(exc: Exception, phase: str) -> dict:
    return {"type": type(exc).__name__, "message": str(exc) or repr(exc), "phase": phase,
            "traceback": traceback.format_exc()[-20000:]}


def accuracy_fields(track, accuracy: float, accuracy_fp32: float) -> dict[str, Any]:
    """Accuracy results; a speed track (random weights, synthetic inputs) has none and says why."""
    if track.kind == "speed":
        from suite.tracks.speed import ACCURACY_NULL_REASON
        return {"accuracy": None, "accuracy_fp32": None, "accuracy_delta_pp": None,
                "accuracy_null_reason": ACCURACY_NULL_REASON}
    return {"accuracy": accuracy, "accuracy_fp32": accuracy_fp32,
            "accuracy_delta_pp": (accuracy - accuracy_fp32) * 100}


def training_refusal(track, method_cls) -> str | None:
    """Why `method_cls` cannot run on `track`, or None: methods that need training data refuse speed tracks
    (random weights and synthetic inputs leave nothing to learn from)."""
    if track.kind == "speed" and getattr(method_cls, "needs_training", False):
        return (f"method {getattr(method_cls, 'name', method_cls.__name__)!r} trains or fine-tunes a network, and "
                f"{track.name!r} is a speed-only track (random weights, synthetic inputs: there is nothing to "
                f"learn from); run it on an accuracy track")
    return None


def chain_refusal(track, method: str) -> str | None:
    """Why a chain of built-in stages cannot hand its models on along `track` (methods.chain.handoff_refusal), or
    None. Checked from the classes' declarations before anything runs or is recorded. A chain with submitted code
    is checked inside its sandbox, before its first stage runs (its classes are never imported here)."""
    parsed = MethodSpec.parse(method)
    if not parsed.is_chain or parsed.submitted:
        return None
    from methods.chain import handoff_refusal
    from methods.resolve import load_method_class

    classes = [load_method_class(stage) for stage in parsed.stages]
    return handoff_refusal([getattr(c, "name", s.label) for s, c in zip(parsed.stages, classes)], classes, track)


def over_budget(info) -> dict | None:
    """The record's top-level `over_budget` ({"reason"}) when the method (a chain: any stage, or the chain in all)
    spent more than the track's budget, from what its artifact reports."""
    if not isinstance(info, dict) or not info.get("over_budget"):
        return None
    return {"reason": str(info["over_budget"])}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    return value
