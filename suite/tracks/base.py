"""Track: fixed dataset + fixed reference model (with its checkpoint) + fixed budget."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, ClassVar

from suite.errors import ChecksumError, SlimBenchError
from suite.paths import CHECKPOINTS
from suite.tracks.training import TrainRecipe


@dataclass(frozen=True)
class Budget:
    """What a method may spend on a track."""
    finetune_epochs: int
    calibration_samples: int
    wall_time_s: float
    memory_mb: int
    finetune_lr: float = 0.01
    batch_size: int = 128

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Track:
    name: ClassVar[str]
    # "accuracy": trained reference checkpoint, test-split accuracy. "speed": random weights, synthetic inputs,
    # no accuracy (suite.tracks.speed); records carry it as config.track_kind and are never ranked together.
    kind: ClassVar[str] = "accuracy"
    description: ClassVar[str]
    dataset: ClassVar[str]
    input_shape: ClassVar[tuple[int, ...]]  # per sample, torch layout
    input_dtype: ClassVar[str] = "float32"  # dtype of the model input ("int64" for token ids)
    # Targets this track's models cannot be built for: target name -> why (the harness refuses such runs
    # before writing a record, and suite matrices leave them out).
    unsupported_targets: ClassVar[dict[str, str]] = {}
    num_classes: ClassVar[int] = 10
    budget: ClassVar[Budget]
    recipe: ClassVar[TrainRecipe]
    # Part of the reference recipe: torch's CPU reductions depend on the intra-op thread count, so the same
    # seed trains bit-identical weights only with the thread count the committed checkpoint was trained with.
    train_threads: ClassVar[int] = 2
    # Extra architectures a method may build (e.g. distillation students/teachers): name -> builder.
    architectures: ClassVar[dict[str, Callable[[], Any]]] = {}
    # Training-time augmentation of the reference recipe (None: none). Track.fit and pruning fine-tuning use it,
    # so every model trained on the track sees the same data distribution.
    augment_pad: ClassVar[int | None] = None
    # The edge target's TFLite is built from the tf-keras port of the weights (suite.tracks.keras_port) when the
    # architecture has one, else converted from PyTorch by litert-torch (methods.export.litert_export).
    has_keras_port: ClassVar[bool] = True
    # The reverse port (suite.tracks.keras_port.keras_to_torch) brings a Keras model of this track back to PyTorch:
    # true for the plain Sequential architectures; a chain refuses keras -> torch hand-overs where it is false.
    keras_port_reverse: ClassVar[bool] = True
    # Latency settings of this track's runs when the session uses the defaults (big models: fewer queries).
    latency_settings: ClassVar[Any] = None

    # -- architecture -------------------------------------------------------------------------
    def build_torch(self):
        """The reference architecture, randomly initialised."""
        raise NotImplementedError

    def build_architecture(self, name: str):
        try:
            return self.architectures[name]()
        except KeyError:
            from suite.errors import UnknownNameError
            raise UnknownNameError(f"architecture of track {self.name}", name, list(self.architectures)) from None

    # -- training ---------------------------------------------------------------------------
    def fit(self, model, x, y, recipe: TrainRecipe, loss_fn: Callable | None = None):
        """Train `model` in place with this track's training loop; loss_fn(model, xb, yb) -> scalar loss.
        Methods that train a network from scratch (distillation students) use this, so a track whose
        models need their own loop (the Transformer's length-bucketed AdamW) trains them with it."""
        from suite.tracks.training import fit
        return fit(model, x, y, recipe, loss_fn=loss_fn, augment=self.augmentation())

    def augmentation(self):
        """The recipe's batch augmentation (a callable for `training.fit`), or None."""
        if self.augment_pad is None:
            return None
        from suite.tracks.training import random_crop_flip
        return random_crop_flip(self.augment_pad)

    def training_loop_info(self) -> dict[str, Any]:
        """What `fit` does beyond the recipe's fields, for records (empty: the generic loop)."""
        augment = self.augmentation()
        return {} if augment is None else {"augmentation": augment.description}

    # -- data -------------------------------------------------------------------------------
    def load_splits(self):
        from suite.data import load_dataset
        return load_dataset(self.dataset)

    # -- reference checkpoint -----------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return CHECKPOINTS / f"{self.name}.pt"

    @property
    def meta_path(self) -> Path:
        return CHECKPOINTS / f"{self.name}.json"

    @cached_property
    def meta(self) -> dict[str, Any]:
        if not self.meta_path.exists():
            raise SlimBenchError(
                f"track {self.name!r} has no reference checkpoint yet ({self.meta_path}); "
                f"train it with: slimbench train-reference --track {self.name}")
        return json.loads(self.meta_path.read_text())

    @property
    def reference_accuracy(self) -> float:
        return float(self.meta["reference_accuracy"])

    @property
    def checkpoint_sha256(self) -> str:
        return self.meta["sha256"]

    def reference_torch(self):
        """The reference model with its committed weights (sha256-verified, weights_only loading)."""
        import torch

        from suite.data.fetch import sha256_file

        found = sha256_file(self.checkpoint_path)
        if found != self.checkpoint_sha256:
            raise ChecksumError(f"{self.checkpoint_path}: sha256 {found} != {self.checkpoint_sha256} recorded in "
                                f"{self.meta_path}; re-train with `slimbench train-reference --track {self.name}`")
        model = self.build_torch()
        model.load_state_dict(torch.load(self.checkpoint_path, map_location="cpu", weights_only=True))
        return model.eval()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "dataset": self.dataset, "input_shape": list(self.input_shape),
                "budget": self.budget.to_dict(), "description": self.description}


@dataclass
class ReferenceModel:
    """What a method receives: the reference weights in each framework, plus track metadata (never data)."""
    track: Track
    # The framework the weights come in (a chain's later stages get a ChainedModel whose framework may be "keras")
    framework: ClassVar[str] = "torch"
    _torch_cache: Any = field(default=None, repr=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.track.input_shape

    @property
    def num_classes(self) -> int:
        return self.track.num_classes

    @property
    def sha256(self) -> str:
        return self.track.checkpoint_sha256

    def torch(self):
        """A fresh copy of the reference model in PyTorch (safe to modify)."""
        import copy
        if self._torch_cache is None:
            self._torch_cache = self.track.reference_torch()
        return copy.deepcopy(self._torch_cache)

    def keras(self):
        """The same weights in a tf-keras model (ported, not retrained)."""
        from suite.tracks.keras_port import torch_to_keras
        return torch_to_keras(self.torch(), self.input_shape)

    def build_architecture(self, name: str):
        return self.track.build_architecture(name)
