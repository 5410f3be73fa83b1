"""Method chains: `--method "torch-magnitude+ort-int8-static"` runs the stages in order, each starting from the
previous stage's model, so Deep-Compression-style pipelines (prune -> quantize) are first-class.

How a stage's model reaches the next one (no method needs to know it is in a chain):

1. Every stage but the last runs with a context whose `export_torch` also keeps the float torch model it was
   given (what every torch method exports). A method that exports some other way may instead set
   `context.output_model` to its final float torch nn.Module before returning.
2. The next stage receives a `ChainedModel` in place of the reference: `.torch()` / `.keras()` return the
   previous stage's weights (the keras one ported from them), so any method composes unchanged. Its context
   also has `upstream` (the previous stage's artifacts) and `upstream_model` (the float torch model).

Params go to one stage: prefix them with the stage name or its 1-based position (`torch-magnitude.sparsity=0.9`,
`2.calibration=minmax`); an unprefixed key goes to the one stage whose config has it (ambiguous -> error)."""
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


def split_params(specs: list[str], classes: list[type[Method]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Route chain params to stages (see module docstring)."""
    per_stage: list[dict[str, Any]] = [{} for _ in specs]
    duplicated = {s for s in specs if specs.count(s) > 1}
    for key, value in params.items():
        matches = []
        for i, spec in enumerate(specs):
            for prefix in (spec, str(i + 1)):
                if key.startswith(prefix + "."):
                    matches.append((len(prefix), i, prefix, key[len(prefix) + 1:]))
        if matches:
            _, i, prefix, sub = max(matches)
            if prefix in duplicated:
                raise ConfigError(f"chain param {key!r}: stage {prefix!r} appears more than once; prefix the "
                                  f"key with the stage position instead (e.g. {specs.index(prefix) + 1}.{sub})")
            per_stage[i][sub] = value
            continue
        owners = [i for i, cls in enumerate(classes) if key in _config_fields(cls)]
        if len(owners) == 1:
            per_stage[owners[0]][key] = value
        elif not owners:
            valid = [f"{spec}.{name}" for spec, cls in zip(specs, classes) for name in _config_fields(cls)]
            raise ConfigError(f"chain param {key!r} matches no stage of {'+'.join(specs)}; valid: "
                              f"{', '.join(valid) or '(none)'}")
        else:
            raise ConfigError(f"chain param {key!r} is ambiguous: stages {', '.join(specs[i] for i in owners)} all "
                              f"take it; prefix it, e.g. {specs[owners[0]]}.{key}=...")
    return per_stage


def _config_fields(cls: type[Method]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls.Config)] if dataclasses.is_dataclass(cls.Config) else []


class ChainMethod(Method):
    name = "chain"
    family = "combined"
    framework = "chain"
    description = "Methods run in sequence (a+b): each stage starts from the previous stage's model"
    formats = FORMATS  # the last stage decides; checked against the run's formats before anything runs

    def __init__(self, specs: list[str], stages: list[Method]):
        super().__init__(None)
        self.specs = specs
        self.stages = stages

    @classmethod
    def from_spec(cls, spec: str, params: dict[str, Any] | None = None) -> "ChainMethod":
        from methods.resolve import load_method_class

        specs = [s.strip() for s in spec.split("+")]
        if len(specs) < 2 or any(not s for s in specs):
            raise ConfigError(f"method chain {spec!r} needs two or more non-empty stages joined by '+'")
        classes = [load_method_class(s) for s in specs]
        for s, c in zip(specs, classes):
            if c is ChainMethod:
                raise ConfigError(f"chain stage {s!r} is itself a chain; write the stages out flat")
        stages = []
        for s, c, p in zip(specs, classes, split_params(specs, classes, dict(params or {}))):
            try:
                stages.append(c.from_params(p))
            except ConfigError as exc:
                raise ConfigError(f"chain stage {s!r}: {exc}") from None
            except Exception as exc:
                raise ConfigError(f"chain stage {s!r}: bad config: {exc}") from exc
        return cls(specs, stages)

    @classmethod
    def from_params(cls, params=None):
        raise ConfigError("a chain is built from its spec (a+b): use methods.resolve.resolve_method")

    def params(self) -> dict[str, Any]:
        out = {}
        for i, (spec, stage) in enumerate(zip(self.specs, self.stages)):
            prefix = str(i + 1) if self.specs.count(spec) > 1 else spec
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
