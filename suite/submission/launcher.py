"""The isolated applier: `Session(store, applier=isolated(settings))` runs submitted code (a file or an entry
point, alone or as a chain stage) in sandboxed workers and built-in adapters in-process (suite.appliers).

Describing the method (its class attributes and validated config), applying it and measuring its artifact each
happen in a worker (suite.submission.isolation); this process never imports the submitted code nor loads its
artifact. Accuracy is computed here from the worker's predictions; sizes are counted from the file."""
from __future__ import annotations

import numpy as np

from suite.appliers import IN_PROCESS
from suite.artifact_content import artifact_section
from suite.finite import check_finite
from suite.harness import _jsonable, accuracy_fields
from suite.measure.latency import speed_fields
from suite.methodspec import MethodSpec
from suite.submission.isolation import IsolationSettings, measure_isolated


class Isolated:
    name = "isolated"

    def __init__(self, settings: IsolationSettings | None = None):
        self.settings = settings

    def method_class(self, spec):
        if not MethodSpec.parse(spec.method).submitted:
            return IN_PROCESS.method_class(spec)
        from suite.submission.proxy import submitted_method_class
        return submitted_method_class(spec.method, spec.params)

    @staticmethod
    def _submitted(method_or_cls) -> bool:
        from suite.submission.proxy import IsolatedMethod
        cls = method_or_cls if isinstance(method_or_cls, type) else type(method_or_cls)
        return issubclass(cls, IsolatedMethod)

    def configure(self, method_cls, spec):
        if self._submitted(method_cls):
            return method_cls.from_params(spec.params)
        return IN_PROCESS.configure(method_cls, spec)

    def apply(self, session, method, track, context, spec):
        if self._submitted(method):  # own process, budget limits, store guarded
            return method.apply_isolated(context, [session.store.root], self.settings)
        return IN_PROCESS.apply(session, method, track, context, spec)

    def measure(self, session, track, target, splits, artifact, spec) -> dict:
        if not MethodSpec.parse(spec.method).submitted:
            return IN_PROCESS.measure(session, track, target, splits, artifact, spec)
        return isolated_results(session, track, target, splits, artifact, spec.method, self.settings)


def isolated(settings: IsolationSettings | None = None) -> Isolated:
    """The applier for sessions that may run submitted code (the CLI's, submit's, reproduce's, the Ray nodes')."""
    return Isolated(settings)


def isolated_results(session, track, target, splits, artifact, who: str, settings_: IsolationSettings | None) -> dict:
    """Measure a submitted artifact in a sandbox (suite.submission.isolation.measure_isolated): this process
    never loads it. Accuracy is computed here from its predictions; sizes are counted from the file."""
    from suite.measure.accuracy import top1

    test = splits.test
    base = session.baseline(track, target, splits)
    settings = session.settings_for(track)
    m = measure_isolated(artifact, base.artifact, target.name, test.x, settings.to_dict(),
                         session.measure_memory, track.input_shape, track.num_classes, track.budget,
                         f"submitted method {who!r}", settings_)
    accuracy = top1(m.predictions, test.y)
    single, offline = m.single, m.offline
    speed_single = single["fp32"]["p50_ms"] / single["method"]["p50_ms"]
    speed_offline = offline["method"]["samples_per_s"] / offline["fp32"]["samples_per_s"]
    notes = []
    if speed_single < 1.0:
        notes.append(f"slower than fp32 at batch 1 on {target.name} ({speed_single:.2f}x): per-call overhead "
                     f"dominates tiny models; see the offline (batch {settings.offline_batch}) speedup")
    claimed = {"params": int(artifact.params), "nonzero_params": int(artifact.nonzero_params)}
    for key in ("weight_bits", "activation_bits", "bits"):
        if key in artifact.info:
            claimed[key] = artifact.info[key]
    if (claimed["params"], claimed["nonzero_params"]) != (m.counted["params"], m.counted["nonzero_params"]):
        notes.append(f"the method claimed {claimed['params']} parameters / {claimed['nonzero_params']} non-zero; "
                     f"counted in the artifact: {m.counted['params']} / {m.counted['nonzero_params']}")
    size = {
        "artifact_bytes": artifact.bytes, "gzip_bytes": artifact.gzip_bytes(),
        "params": m.counted["params"], "nonzero_params": m.counted["nonzero_params"],
        "params_by_bits": m.counted["params_by_bits"], "counted_by": "harness (from the artifact file)",
        "baseline_artifact_bytes": base.artifact.bytes,
        "compression_ratio": base.artifact.bytes / artifact.bytes,
        "gzip_compression_ratio": base.artifact.gzip_bytes() / artifact.gzip_bytes(),
    }
    info = _jsonable(artifact.info)
    info["sandboxed_measurement"] = {"wall_time_s": round(m.elapsed_s, 3), "process_limit": m.process_limit}
    results = {
        **accuracy_fields(track, accuracy, base.accuracy), "test_samples": int(len(test)),
        "prediction_agreement_fp32": float((m.predictions == base.predictions).mean()),
        "latency_single_stream": single["method"], "baseline_latency_single_stream": single["fp32"],
        "speedup_single_stream": speed_single,
        "throughput_offline": offline["method"], "baseline_throughput_offline": offline["fp32"],
        "speedup_offline": speed_offline, **speed_fields(single, offline, notes),
        "memory": m.memory, "size": size, "method_info": info,
        "claimed": claimed, "notes": notes,
    }
    check_finite({k: v for k, v in results.items() if k not in ("method_info", "claimed")}, "measured results")
    return {
        "results": results,
        "artifact": artifact_section(artifact),
        "threads": m.threads if isinstance(m.threads, dict) else {},
    }
