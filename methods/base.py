"""The method interface: a small class with a typed config dataclass and `apply(model, context)`.

A method receives the reference model (`suite.tracks.base.ReferenceModel`) and a `MethodContext`
(train / validation / calibration data, budget, seed, RNG, device, work directory) and returns one
or more `ExportedArtifact`s. It never sees the test split."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from suite.artifacts import ExportedArtifact
from suite.data.splits import Split
from suite.errors import ConfigError

FAMILIES = ("baseline", "quantization", "pruning", "distillation", "clustering", "combined")

# Float models a chain stage can hand to the next one (methods/chain.py): a PyTorch nn.Module or a tf-keras model.
MODEL_FRAMEWORKS = ("torch", "keras")


@dataclass(frozen=True)
class NoConfig:
    pass


@dataclass
class MethodContext:
    track: str
    input_shape: tuple[int, ...]
    num_classes: int
    train: Split
    validation: Split
    calibration: Split  # already cut to the budget's calibration_samples
    budget: Any         # suite.tracks.base.Budget
    seed: int
    workdir: Path
    formats: tuple[str, ...]  # artifact formats the requested target(s) run
    device: str = "cpu"
    upstream: list[ExportedArtifact] = field(default_factory=list)  # set when chained after another method
    upstream_model: Any = None  # the previous method's in-memory model (chains), when it left one
    input_dtype: str = "float32"  # the track's model input dtype ("int64" token ids for text tracks)
    # How TFLite artifacts are built: "keras-port" (the tf-keras port of the weights) or "litert-torch"
    # (PyTorch -> LiteRT, for architectures without a port: the speed tracks).
    tflite_converter: str = "keras-port"
    rng: np.random.Generator = field(init=False)

    def __post_init__(self):
        self.rng = np.random.default_rng(self.seed)
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    def export_torch(self, model, stem: str, info: dict | None = None,
                     params: tuple[int, int] | None = None) -> list[ExportedArtifact]:
        """Export a (float) PyTorch model to every format this run needs."""
        from methods.export import export_torch_model
        return export_torch_model(model, self.input_shape, self.formats, self.workdir, stem, info, params,
                                  input_dtype=self.input_dtype, tflite_converter=self.tflite_converter)

    def export_keras(self, model, stem: str, info: dict | None = None,
                     params: tuple[int, int] | None = None) -> list[ExportedArtifact]:
        """Export a (float) tf-keras model to every format this run needs: TFLite directly (the TF converter),
        ONNX / TorchScript through the reverse port to PyTorch (suite.tracks.keras_port.keras_to_torch)."""
        from methods.export.keras_export import export_keras_model
        return export_keras_model(model, self.input_shape, self.formats, self.workdir, stem, info, params,
                                  input_dtype=self.input_dtype)


class Method:
    name: ClassVar[str]
    family: ClassVar[str]        # one of FAMILIES
    framework: ClassVar[str]     # torch | tensorflow | onnxruntime | ...
    description: ClassVar[str]   # one line, shown by `slimbench list methods`
    formats: ClassVar[tuple[str, ...]]  # artifact formats it can produce
    Config: ClassVar[type] = NoConfig
    in_default_suite: ClassVar[bool] = False
    # Trains or fine-tunes on the track's data (QAT, distillation, schedule-driven pruning): refuses speed tracks.
    needs_training: ClassVar[bool] = False
    # Chains (methods/chain.py). `takes`: the float model(s) apply() starts from, preferred first ("torch" =
    # model.torch(), "keras" = model.keras()). `hands_on`: the float model it leaves for a next stage (via
    # context.export_torch / export_keras / output_model); () = none (it only produces e.g. an int8 artifact, so
    # it can only be a chain's last stage). None = from `framework`: torch -> torch, tensorflow -> keras.
    takes: ClassVar[tuple[str, ...] | None] = None
    hands_on: ClassVar[tuple[str, ...] | None] = None
    # Spends fine-tuning epochs (a share of a chain's budget). None = needs_training, or any family but
    # baseline / quantization (post-training quantization and plain export do not fine-tune).
    finetunes: ClassVar[bool | None] = None

    def __init__(self, config: Any = None):
        self.config = config if config is not None else self.Config()

    @classmethod
    def from_params(cls, params: dict[str, Any] | None = None) -> "Method":
        return cls(build_config(cls.Config, params or {}, cls.name))

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config) if dataclasses.is_dataclass(self.config) else {}

    def apply(self, model, context: MethodContext) -> ExportedArtifact | list[ExportedArtifact]:
        raise NotImplementedError


def build_config(config_cls: type, params: dict[str, Any], method_name: str = "method"):
    """Build a config dataclass from user params (strings from the CLI are coerced to field types)."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ConfigError(f"{method_name}: unknown parameter(s) {', '.join(unknown)}; "
                          f"valid: {', '.join(fields) or '(none)'}")
    hints = typing.get_type_hints(config_cls)
    values = {}
    for key, raw in params.items():
        values[key] = _coerce(raw, hints.get(key, Any), f"{method_name}.{key}")
    try:
        return config_cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{method_name}: bad config: {exc}") from None


def _coerce(raw: Any, hint: Any, where: str):
    if not isinstance(raw, str):
        return raw
    origin = typing.get_origin(hint)
    try:
        if hint is bool:
            if raw.lower() in ("1", "true", "yes"):
                return True
            if raw.lower() in ("0", "false", "no"):
                return False
            raise ValueError(raw)
        if hint in (int, float):
            return hint(raw)
        if origin is typing.Literal:
            choices = typing.get_args(hint)
            if raw not in choices:
                raise ConfigError(f"{where}: {raw!r} is not one of {', '.join(map(str, choices))}")
            return raw
        if origin in (tuple, list):
            inner = typing.get_args(hint)[0] if typing.get_args(hint) else str
            items = [_coerce(s.strip(), inner, where) for s in raw.split(",") if s.strip()]
            return tuple(items) if origin is tuple else items
    except ConfigError:
        raise
    except ValueError:
        raise ConfigError(f"{where}: cannot read {raw!r} as {getattr(hint, '__name__', hint)}") from None
    return raw


def check_choice(value, choices, where: str) -> None:
    """For config __post_init__: a clear error for a value outside the supported set."""
    if value not in choices:
        raise ConfigError(f"{where}={value!r} is not supported; choose one of: {', '.join(map(str, choices))}")
