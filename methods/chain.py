"""Method chains: `--method "torch-magnitude+ort-int8-static"` runs the stages in order, each starting from the
previous stage's model, so Deep-Compression-style pipelines (prune -> quantize) are first-class.

How a stage's model reaches the next one (no method needs to know it is in a chain):

1. Every stage but the last runs with a context whose `export_torch` / `export_keras` also keep the float model
   they were given: a PyTorch nn.Module or a tf-keras model (what every torch / Keras method exports). A method
   that exports some other way may instead set `context.output_model` to its final float model (either kind).
2. The next stage receives a `ChainedModel` in place of the reference: `.torch()` / `.keras()` return the
   previous stage's weights in the framework it asks for, converted through the track's weight port where the
   frameworks differ (torch -> keras: `torch_to_keras`; keras -> torch: `keras_to_torch`), so any method composes
   unchanged. Its context also has `upstream` (the previous stage's artifacts) and `upstream_model` (the model).
3. Before any stage runs, `handoff_refusal` checks every hand-over from what the classes declare (`takes`,
   `hands_on`, methods/base.py) and the track's ports: a stage that leaves no float model followed by another
   stage, or a conversion the track has no port for, refuses the chain naming both stages and why.

Budget: the track's budget is the chain's total. Fine-tuning epochs are shared out between the stages that fine-tune
(`stage_budgets`): a stage given `epochs` explicitly keeps that share, the others split what is left (earlier
stages get the remainder). Calibration samples and memory are caps each stage may use in full; wall time is the
chain's total. A chain whose stages spent more than the track's budget says so in `over_budget` (the harness
lifts it to the record's top level).

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


def model_framework(model) -> str:
    """"torch" or "keras" for a float model a stage hands on (without importing either framework)."""
    if hasattr(model, "get_weights") and hasattr(model, "layers"):
        return "keras"
    if hasattr(model, "state_dict") and hasattr(model, "parameters"):
        return "torch"
    raise SlimBenchError(f"a chain stage handed on a {type(model).__name__}; a stage hands on a float PyTorch "
                         f"nn.Module or a tf-keras model")


class ChainedModel:
    """ReferenceModel-like view of a previous stage's float model (PyTorch or tf-keras): `.torch()` and `.keras()`
    each return a fresh copy in that framework, ported through the track's weight port when it was the other."""

    def __init__(self, reference, model, produced_by: str):
        self.reference = reference
        self._model = model
        self.framework = model_framework(model)  # the framework the previous stage left it in
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
        if self.framework == "torch":
            return copy.deepcopy(self._model).eval()
        from suite.tracks.keras_port import keras_to_torch
        try:
            return keras_to_torch(self._model, self.input_shape)
        except ValueError as exc:
            raise SlimBenchError(f"stage {self.produced_by!r} handed on a Keras model that the reverse port cannot "
                                 f"bring back to PyTorch: {exc}") from None

    def keras(self):
        if self.framework == "keras":
            from suite.tracks.keras_port import clone_keras
            return clone_keras(self._model)
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

    def export_keras(self, model, stem, info=None, params=None):
        from suite.tracks.keras_port import clone_keras
        self.exported_models.append(clone_keras(model))
        return super().export_keras(model, stem, info, params)

    def handed_over(self):
        return self.output_model if self.output_model is not None else (
            self.exported_models[-1] if self.exported_models else None)


# -- what a stage takes and hands on (checked before any stage runs) ------------------------------------------
_BY_FRAMEWORK = {"torch": "torch", "tensorflow": "keras"}


def takes(cls) -> tuple[str, ...]:
    declared = getattr(cls, "takes", None)
    return tuple(declared) if declared is not None else (_BY_FRAMEWORK.get(getattr(cls, "framework", ""), "torch"),)


def hands_on(cls) -> tuple[str, ...]:
    declared = getattr(cls, "hands_on", None)
    if declared is not None:
        return tuple(declared)
    framework = _BY_FRAMEWORK.get(getattr(cls, "framework", ""))
    return (framework,) if framework else ()


def finetunes(cls) -> bool:
    declared = getattr(cls, "finetunes", None)
    if declared is not None:
        return bool(declared)
    return bool(getattr(cls, "needs_training", False)) or getattr(cls, "family", "") not in ("baseline",
                                                                                              "quantization")


def track_ports(track=None, tflite_converter: str | None = None) -> dict[tuple[str, str], str | None]:
    """Which conversions between float models the track's weight port supports: (from, to) -> None when it
    does, else why not. `track` may be None (then the context's converter says whether a Keras port exists)."""
    forward = getattr(track, "has_keras_port", None)
    if forward is None:
        forward = tflite_converter != "litert-torch"
    reverse = forward and bool(getattr(track, "keras_port_reverse", True))
    name = getattr(track, "name", "this track")
    return {("torch", "keras"): None if forward else f"track {name!r} has no tf-keras port (its architecture is "
                                                      f"converted by litert-torch)",
            ("keras", "torch"): None if reverse else (
                f"track {name!r} has no keras->torch port (" + ("no tf-keras port at all)" if not forward else
                                                                 "its Keras model is not a plain Sequential)"))}


def handoff_refusal(names: list[str], classes: list, track=None, tflite_converter: str | None = None) -> str | None:
    """Why this chain cannot hand its models on, naming both stages, or None. Needs only the classes' declarations
    and the track's ports: nothing is imported or run."""
    ports = track_ports(track, tflite_converter)
    chain = "+".join(names)
    available = ("torch",)  # the first stage starts from the reference checkpoint (PyTorch)
    for i, (name, cls) in enumerate(zip(names, classes)):
        wanted = takes(cls)
        if not set(wanted) & set(available):
            reasons = [ports[(have, want)] for have in available for want in wanted]
            if all(reasons):
                wants = " or ".join(_LABELS.get(w, w) for w in wanted)
                if i == 0:
                    return (f"chain {chain}: stage 1 {name!r} starts from a {wants} model and the chain starts from "
                            f"the track's reference checkpoint (PyTorch); {reasons[0]}, so it cannot be converted")
                return (f"chain {chain}: stage {i} {names[i - 1]!r} hands on a float "
                        f"{' / '.join(_LABELS.get(a, a) for a in available)} model and stage {i + 1} {name!r} starts "
                        f"from a {wants} model; {reasons[0]}, so it cannot be converted")
        if i == len(names) - 1:
            break
        available = hands_on(cls)
        if not available:
            formats = ", ".join(getattr(cls, "formats", ()) or ("?",))
            return (f"chain {chain}: stage {i + 1} {name!r} leaves no float model to hand on (it produces only its "
                    f"{formats} artifact), so stage {i + 2} {names[i + 1]!r} cannot start from it; {name!r} can "
                    f"only be the last stage of a chain")
    return None


_LABELS = {"torch": "PyTorch", "keras": "Keras"}


def stage_budgets(budget, stages: list[Method]) -> list:
    """Each stage's view of the chain's budget (see the module docstring): fine-tuning epochs shared out, every
    other field unchanged. Returns (budgets, shares) with shares[i] = {"finetune_epochs", "explicit"} or None for
    a stage that does not fine-tune."""
    total = int(getattr(budget, "finetune_epochs", 0))
    shares: list[dict | None] = [None] * len(stages)
    open_stages = []
    for i, stage in enumerate(stages):
        if not finetunes(type(stage)):
            continue
        epochs = _explicit_epochs(stage)
        if epochs is not None:
            shares[i] = {"finetune_epochs": epochs, "explicit": True}
        else:
            open_stages.append(i)
    left = max(0, total - sum(s["finetune_epochs"] for s in shares if s))
    for k, i in enumerate(open_stages):
        shares[i] = {"finetune_epochs": left // len(open_stages) + (1 if k < left % len(open_stages) else 0),
                     "explicit": False}
    budgets = []
    for share in shares:
        epochs = share["finetune_epochs"] if share else 0
        budgets.append(dataclasses.replace(budget, finetune_epochs=epochs) if dataclasses.is_dataclass(budget)
                       else budget)
    return budgets, shares


def _explicit_epochs(stage: Method) -> int | None:
    """A stage's `epochs` when set away from its default to a count (its explicit share), else None."""
    config = getattr(stage, "config", None)
    if not dataclasses.is_dataclass(config):
        return None
    for f in dataclasses.fields(config):
        if f.name == "epochs":
            value = getattr(config, "epochs")
            default = f.default if f.default is not dataclasses.MISSING else None
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0 and value != default:
                return value
    return None


def epochs_spent(info: dict) -> int | None:
    """Fine-tuning epochs a stage reports having spent (its info's finetune_epochs), or None."""
    value = info.get("finetune_epochs") if isinstance(info, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def stage_context(context: MethodContext, index: int, formats: tuple[str, ...], upstream: list[ExportedArtifact],
                  upstream_model: Any, budget: Any = None) -> StageContext:
    values = {f.name: getattr(context, f.name) for f in dataclasses.fields(MethodContext) if f.init}
    values.update(workdir=context.workdir / f"stage{index + 1}", formats=formats, upstream=list(upstream),
                  upstream_model=upstream_model)
    if budget is not None:
        values["budget"] = budget
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

    def refusal(self, track=None, tflite_converter: str | None = None) -> str | None:
        """Why this chain cannot run on `track` (see handoff_refusal), before any stage runs."""
        return handoff_refusal(self.specs, [type(s) for s in self.stages], track, tflite_converter)

    def apply(self, model, context: MethodContext) -> list[ExportedArtifact]:
        import time

        chain = "+".join(self.specs)
        last_spec, last = self.specs[-1], self.stages[-1]
        if len(context.train) == 0:  # a speed-only track: no data to train on (suite.harness.training_refusal)
            training = [spec for spec, stage in zip(self.specs, self.stages) if getattr(stage, "needs_training", False)]
            if training:
                raise ConfigError(f"chain {chain}: stage(s) {', '.join(training)} train or fine-tune, "
                                  f"and track {context.track!r} has no training data (a speed-only track)")
        if not set(last.formats) & set(context.formats):
            raise ConfigError(f"chain {chain}: the last stage {last_spec!r} produces "
                              f"{', '.join(last.formats)}; this run needs {', '.join(context.formats)}")
        refusal = self.refusal(getattr(model, "track", None), getattr(context, "tflite_converter", None))
        if refusal:
            raise ConfigError(refusal)
        budgets, shares = stage_budgets(context.budget, self.stages)
        current, upstream, upstream_model, summaries = model, [], None, []
        started = time.perf_counter()
        for i, (spec, stage) in enumerate(zip(self.specs[:-1], self.stages[:-1])):
            # Intermediate stages export only what is cheapest to hand on (ONNX when they can).
            formats = ("onnx",) if "onnx" in stage.formats else tuple(stage.formats[:1])
            ctx = stage_context(context, i, formats, upstream, upstream_model, budgets[i])
            stage_started = time.perf_counter()
            out = stage.apply(current, ctx)
            upstream = [out] if isinstance(out, ExportedArtifact) else list(out or [])
            handed = ctx.handed_over()
            if handed is None:
                raise SlimBenchError(
                    f"chain stage {spec!r} left no float model for the next stage {self.specs[i + 1]!r} (it neither "
                    f"exports via context.export_torch / context.export_keras nor sets context.output_model); it "
                    f"can only be the last stage")
            upstream_model = handed
            current = ChainedModel(model, handed, spec)
            summaries.append({"stage": i + 1, "method": spec, "params": stage.params(),
                              "hands_on": current.framework, "budget": shares[i],
                              "wall_time_s": round(time.perf_counter() - stage_started, 3),
                              "info": upstream[0].info if upstream else {}})
        ctx = stage_context(context, len(self.stages) - 1, context.formats, upstream, upstream_model, budgets[-1])
        stage_started = time.perf_counter()
        out = last.apply(current, ctx)
        artifacts = [out] if isinstance(out, ExportedArtifact) else list(out or [])
        summaries.append({"stage": len(self.stages), "method": last_spec, "params": last.params(),
                          "budget": shares[-1], "wall_time_s": round(time.perf_counter() - stage_started, 3)})
        wall = time.perf_counter() - started
        for artifact in artifacts:
            info = dict(artifact.info)
            for summary in reversed(summaries[:-1]):  # the latest stage's fact describes the model handed on
                for key in CARRIED_INFO:
                    if key in summary["info"] and key not in info:
                        info[key] = summary["info"][key]
            info["chain"] = summaries
            info["chain_budget"], over = chain_budget_report(context.budget, summaries, artifact.info, wall)
            if over:
                info["over_budget"] = over
            artifact.info = info
        return artifacts


def chain_budget_report(budget, summaries: list[dict], last_info: dict, wall_time_s: float):
    """(what the chain spent against the track's budget, the over-budget reason or None)."""
    total = int(getattr(budget, "finetune_epochs", 0))
    spent, reasons = 0, []
    for index, summary in enumerate(summaries):
        info = summary.get("info") if index < len(summaries) - 1 else last_info
        epochs = epochs_spent(info) if summary.get("budget") else None
        spent += epochs or 0
        if isinstance(info, dict) and info.get("over_budget"):
            reasons.append(f"stage {summary['stage']} {summary['method']}: {info['over_budget']}")
    report = {"finetune_epochs": total, "finetune_epochs_spent": spent,
              "shares": [s.get("budget") for s in summaries], "wall_time_s": round(wall_time_s, 3),
              "budget_wall_time_s": getattr(budget, "wall_time_s", None)}
    over = []
    if spent > total:
        over.append(f"the stages fine-tuned {spent} epochs in all, above the track budget of {total} (the chain's "
                    f"total)")
    limit = getattr(budget, "wall_time_s", None)
    if isinstance(limit, (int, float)) and wall_time_s > limit:
        over.append(f"the stages ran {wall_time_s:.0f} s in all, above the track budget of {limit:.0f} s")
    return report, "; ".join(over + reasons) or None
