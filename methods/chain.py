"""Method chains: `--method "torch-magnitude+ort-int8-static"` runs the stages in order, each starting from the
previous stage's model, so Deep-Compression-style pipelines (prune -> quantize) are first-class.

How a stage's model reaches the next one (no method needs to know it is in a chain):

1. Every stage but the last runs with a context whose `export_torch` also keeps the float torch model it was
   given (what every torch method exports). A method that exports some other way may instead set
   `context.output_model` to its final float torch nn.Module before returning.
2. The next stage receives a `ChainedModel` in place of the reference: `.torch()` / `.keras()` return the
   previous stage's weights (the keras one ported from them), so any method composes unchanged. Its context
   also has `upstream` (the previous stage's artifacts) and `upstream_model` (the float torch model).

Params go to one stage: prefix them with the stage's method name or its 1-based position
(`torch-magnitude.sparsity=0.9`, `2.calibration=minmax`); an unprefixed key goes to the one stage whose config has
it (ambiguous -> error). Routing is `suite.methodspec.MethodSpec.route_params`; a record's keys use the method's
`name` (never a file path), or the position where a method occurs twice."""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from methods.base import Method, MethodContext
from suite.artifacts import FORMATS, ExportedArtifact
from suite.errors import ConfigError, SlimBenchError

# Facts of earlier stages worth seeing at the top of the final artifact's info (the full infos are in "chain").
CARRIED_INFO = ("sparsity", "weights_kept", "weight_compression_x", "layers", "params_ratio", "macs_ratio",
                "speedup_note")


class ChainedModel:
    """ReferenceModel-like view of a previous stage's float torch model."""

    def __init__(self, reference, torch_model, produced_by: str):
        self.reference = reference
        self._torch = torch_model
        self.produced_by = produced_by

    @property
    def track(self):
        return self.reference.track

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.reference.input_shape

    @property
    def num_classes(self) -> int:
        return self.reference.num_classes

    @property
    def sha256(self) -> str:
        return self.reference.sha256  # the reference the chain started from

    def torch(self):
        return copy.deepcopy(self._torch).eval()

    def keras(self):
        from suite.tracks.keras_port import torch_to_keras
        return torch_to_keras(self.torch(), self.input_shape)

    def build_architecture(self, name: str):
        return self.reference.build_architecture(name)


@dataclass
class StageContext(MethodContext):
    """A MethodContext that keeps the float model an intermediate stage exports (to hand to the next stage)."""
    exported_models: list = field(default_factory=list)
    output_model: Any = None

    def export_torch(self, model, stem, info=None, params=None):
        self.exported_models.append(copy.deepcopy(model).eval())
        return super().export_torch(model, stem, info, params)

    def handed_over(self):
        return self.output_model if self.output_model is not None else (
            self.exported_models[-1] if self.exported_models else None)


def stage_context(context: MethodContext, index: int, formats: tuple[str, ...], upstream: list[ExportedArtifact],
                  upstream_model: Any) -> StageContext:
    values = {f.name: getattr(context, f.name) for f in dataclasses.fields(MethodContext) if f.init}
    values.update(workdir=context.workdir / f"stage{index + 1}", formats=formats, upstream=list(upstream),
                  upstream_model=upstream_model)
    return StageContext(**values)


class ChainMethod(Method):
    name = "chain"
    family = "combined"
    framework = "chain"
    description = "Methods run in sequence (a+b): each stage starts from the previous stage's model"
    formats = FORMATS  # the last stage decides; checked against the run's formats before anything runs

    def __init__(self, names: list[str], stages: list[Method], spec=None):
        """`names`: each stage's method name (a file's class `name`, never its path); `spec`: the parsed
        suite.methodspec.MethodSpec it was built from. Built by methods.resolve.resolve_method."""
        super().__init__(None)
        self.specs = list(names)  # stage names, as records and messages show them
        self.stages = stages
        self.spec = spec

    @classmethod
    def from_params(cls, params=None):
        raise ConfigError("a chain is built from its spec (a+b): use methods.resolve.resolve_method")

    def params(self) -> dict[str, Any]:
        out = {}
        prefixes = [str(i + 1) if self.specs.count(n) > 1 else n for i, n in enumerate(self.specs)]
        for prefix, stage in zip(prefixes, self.stages):
            out.update({f"{prefix}.{k}": v for k, v in stage.params().items()})
        return out

    def apply(self, model, context: MethodContext) -> list[ExportedArtifact]:
        last_spec, last = self.specs[-1], self.stages[-1]
        if len(context.train) == 0:  # a speed-only track: no data to train on (suite.harness.training_refusal)
            training = [spec for spec, stage in zip(self.specs, self.stages) if getattr(stage, "needs_training", False)]
            if training:
                raise ConfigError(f"chain {'+'.join(self.specs)}: stage(s) {', '.join(training)} train or fine-tune, "
                                  f"and track {context.track!r} has no training data (a speed-only track)")
        if not set(last.formats) & set(context.formats):
            raise ConfigError(f"chain {'+'.join(self.specs)}: the last stage {last_spec!r} produces "
                              f"{', '.join(last.formats)}; this run needs {', '.join(context.formats)}")
        current, upstream, upstream_model, summaries = model, [], None, []
        for i, (spec, stage) in enumerate(zip(self.specs[:-1], self.stages[:-1])):
            # Intermediate stages export only what is cheapest to hand on (ONNX when they can).
            formats = ("onnx",) if "onnx" in stage.formats else tuple(stage.formats[:1])
            ctx = stage_context(context, i, formats, upstream, upstream_model)
            out = stage.apply(current, ctx)
            upstream = [out] if isinstance(out, ExportedArtifact) else list(out or [])
            handed = ctx.handed_over()
            if handed is None:
                raise SlimBenchError(
                    f"chain stage {spec!r} left no float torch model for the next stage (it neither exports via "
                    f"context.export_torch nor sets context.output_model); it can only be the last stage")
            upstream_model = handed
            current = ChainedModel(model, handed, spec)
            summaries.append({"stage": i + 1, "method": spec, "params": stage.params(),
                              "info": upstream[0].info if upstream else {}})
        ctx = stage_context(context, len(self.stages) - 1, context.formats, upstream, upstream_model)
        out = last.apply(current, ctx)
        artifacts = [out] if isinstance(out, ExportedArtifact) else list(out or [])
        summaries.append({"stage": len(self.stages), "method": last_spec, "params": last.params()})
        for artifact in artifacts:
            info = dict(artifact.info)
            for summary in summaries[:-1]:
                for key in CARRIED_INFO:
                    if key in summary["info"] and key not in info:
                        info[key] = summary["info"][key]
            info["chain"] = summaries
            artifact.info = info
        return artifacts
