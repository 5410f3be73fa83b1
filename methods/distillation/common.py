"""What the distillation adapters share: picking student/teacher architectures a track declares,
the distillation training budget, and the configuration fields.

Budget. A distilled student is trained *from scratch*, so the track's `finetune_epochs` (a few epochs
of fine-tuning) is the wrong yardstick. The distillation budget is explicit in the config (`epochs`);
0 means the track's default:
a quarter of the epochs the track's own reference recipe was trained for (`Track.recipe.epochs`), rounded
up: digits-mlp 15, mnist-lenet300 5, mnist-lenet5 4. That is a compression-sized budget (a fraction of
training the reference), and it is the regime where distillation's faster convergence shows: on
mnist-lenet300 (teacher = the reference) the distilled 50-50 student beat the same student alone by
+0.2..+0.5 pp validation accuracy at 5 epochs over three seeds, but not at 10 (+0.02 pp) or 20 epochs
(-0.18 pp, seed 0), where the student alone catches up with a teacher only ~0.5 pp better than it.
Ask for more with `epochs=N`. The same-student-without-KD comparison always uses the identical budget,
seed and initial weights."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from methods.base import check_choice
from suite.errors import ConfigError

REFERENCE_TEACHER = "reference"


@dataclass(frozen=True)
class StudentTrainingConfig:
    """Fields every student-training method shares (KD or not); 0 / "" mean "the track's default"."""
    student: str = ""         # an architecture the track declares; "" = its first one smaller than the reference
    epochs: int = 0           # distillation budget in epochs; 0 = a quarter of the track's reference recipe epochs
    lr: float = 0.0           # 0 = the track's reference recipe learning rate (SGD momentum 0.9, cosine)
    batch_size: int = 0       # 0 = the track budget's batch size
    # Regularisation of the trained network (Hinton et al.'s teacher used dropout and jittered inputs).
    dropout: float = 0.0      # dropout after every hidden ReLU while training
    input_dropout: float = 0.0  # dropout on the input while training
    jitter: int = 0           # random translation of image inputs by up to this many pixels while training

    def __post_init__(self):
        check_regularisation(self.dropout, self.input_dropout, self.jitter, "")
        if self.epochs < 0:
            raise ConfigError(f"epochs={self.epochs} must be >= 0 (0 = the track's default)")
        if self.lr < 0:
            raise ConfigError(f"lr={self.lr} must be >= 0 (0 = the track's default)")
        if self.batch_size < 0:
            raise ConfigError(f"batch_size={self.batch_size} must be >= 0 (0 = the track's default)")


@dataclass(frozen=True)
class DistillConfig(StudentTrainingConfig):
    teacher: str = REFERENCE_TEACHER  # "reference" (the track's checkpoint) or an architecture the track declares
    teacher_epochs: int = 0   # only for a declared teacher architecture (trained from scratch); 0 = recipe epochs
    temperature: float = 4.0
    alpha: float = 0.1        # weight of the hard-label cross-entropy; (1 - alpha) goes to T^2 * KL
    compare_alone: bool = True  # also train the same student without KD (same budget, seed, init)
    # A declared teacher architecture trained here may be regularised like Hinton et al.'s teacher.
    teacher_dropout: float = 0.0
    teacher_input_dropout: float = 0.0
    teacher_jitter: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_regularisation(self.teacher_dropout, self.teacher_input_dropout, self.teacher_jitter, "teacher_")
        if self.jitter:
            raise ConfigError("jitter applies to a teacher trained here (teacher_jitter); the student learns from "
                              "soft targets computed once on the un-jittered training inputs")
        if self.teacher == REFERENCE_TEACHER and (self.teacher_dropout or self.teacher_input_dropout
                                                  or self.teacher_jitter or self.teacher_epochs):
            raise ConfigError("teacher_epochs/teacher_dropout/teacher_input_dropout/teacher_jitter apply to a teacher "
                              "trained here (teacher=<architecture>); the reference teacher is already trained")
        if not self.temperature > 0:
            raise ConfigError(f"temperature={self.temperature} must be > 0")
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"alpha={self.alpha} must be within [0, 1] (weight of the hard-label loss)")
        if self.teacher_epochs < 0:
            raise ConfigError(f"teacher_epochs={self.teacher_epochs} must be >= 0 (0 = the track's default)")
        if self.teacher != REFERENCE_TEACHER and self.teacher == self.student:
            raise ConfigError(f"teacher and student are both {self.teacher!r}; distil into a different architecture")


def check_regularisation(dropout: float, input_dropout: float, jitter: int, prefix: str) -> None:
    for name, value in ((f"{prefix}dropout", dropout), (f"{prefix}input_dropout", input_dropout)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name}={value} must be within [0, 1)")
    if jitter < 0:
        raise ConfigError(f"{prefix}jitter={jitter} must be >= 0 (pixels)")


@dataclass(frozen=True)
class ResolvedBudget:
    epochs: int
    lr: float
    batch_size: int
    momentum: float
    weight_decay: float
    epochs_source: str
    optimizer: str = "sgd"  # the track recipe's: SGD for the MNIST nets, Adam for the Transformer (SGD does not train it)

    def to_info(self) -> dict:
        return {"epochs": self.epochs, "epochs_source": self.epochs_source, "lr": self.lr, "batch_size": self.batch_size, "momentum": self.momentum,
                "weight_decay": self.weight_decay, "optimizer": self.optimizer, "schedule": "cosine"}


def resolve_budget(config: StudentTrainingConfig, track) -> ResolvedBudget:
    recipe = track.recipe
    return ResolvedBudget(epochs=config.epochs or default_epochs(track), lr=config.lr or recipe.lr,
                          batch_size=config.batch_size or track.budget.batch_size,
                          momentum=recipe.momentum, weight_decay=recipe.weight_decay, optimizer=recipe.optimizer,
                          epochs_source="config" if config.epochs else
                          f"track default: ceil({recipe.epochs} reference epochs / 4)")


def default_epochs(track) -> int:
    """The track's default distillation budget: a quarter of its reference recipe's epochs, rounded up."""
    return max(1, math.ceil(track.recipe.epochs / 4))


def torch_recipe(budget: ResolvedBudget, seed: int, epochs: int | None = None):
    from suite.tracks.training import TrainRecipe

    return TrainRecipe(epochs=budget.epochs if epochs is None else epochs, lr=budget.lr,
                       batch_size=budget.batch_size, momentum=budget.momentum,
                       weight_decay=budget.weight_decay, optimizer=budget.optimizer, schedule="cosine", seed=seed)


def reference_params(track) -> int:
    return int(track.meta.get("params") or _count(track.build_torch()))


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def default_student(track) -> str:
    """The first architecture the track declares that is smaller than its reference model."""
    reference = reference_params(track)
    for name in track.architectures:
        if _count(track.build_architecture(name)) < reference:
            return name
    raise ConfigError(f"track {track.name!r} declares no student architecture smaller than its reference "
                      f"({reference:,} params); declared: {', '.join(track.architectures) or '(none)'}")


def resolve_student(config: StudentTrainingConfig, track) -> str:
    name = config.student or default_student(track)
    check_choice(name, list(track.architectures), f"student (architectures of track {track.name})")
    return name


def resolve_teacher(config: DistillConfig, track, student: str) -> str:
    if config.teacher == REFERENCE_TEACHER:
        return REFERENCE_TEACHER
    check_choice(config.teacher, [REFERENCE_TEACHER, *track.architectures],
                 f"teacher (reference or architectures of track {track.name})")
    if config.teacher == student:
        raise ConfigError(f"teacher and student are both {student!r}; distil into a different architecture")
    return config.teacher


# -- the kd sequence both frameworks run -----------------------------------------------------------------

@dataclass(frozen=True)
class KDOps:
    """What one framework provides to `distil`; every callable closes over the run's data and seed."""
    reference_teacher: Callable[[], tuple[Any, str]]     # () -> (the reference as teacher, where it came from)
    train_teacher: Callable[[str, int], tuple[Any, str]]  # (architecture, epochs) -> (trained teacher, source)
    teacher_logits: Callable[[Any], np.ndarray]          # teacher -> its logits over the training split
    val_accuracy: Callable[[Any], float]
    param_count: Callable[[Any], int]
    new_student: Callable[[str], Any]                    # architecture -> freshly initialised (by the seed)
    train_student: Callable[[Any, np.ndarray | None], Any]  # (initial, teacher logits or None) -> trained copy


def distil(cfg: DistillConfig, track, ops: KDOps, info: dict, validation_samples: int):
    """Teacher -> its logits -> the distilled student -> (compare_alone) the same student on labels alone, from
    the same initial weights. Fills `info` (the record's method_info) and returns the distilled student."""
    started = time.perf_counter()
    if info["teacher"] == REFERENCE_TEACHER:
        teacher, info["teacher_source"] = ops.reference_teacher()
    else:
        info["teacher_epochs"] = cfg.teacher_epochs or track.recipe.epochs
        teacher, info["teacher_source"] = ops.train_teacher(info["teacher"], info["teacher_epochs"])
    info["teacher_params"] = ops.param_count(teacher)
    info["teacher_val_accuracy"] = ops.val_accuracy(teacher)
    soft = ops.teacher_logits(teacher)
    info["teacher_seconds"] = round(time.perf_counter() - started, 2)

    initial = ops.new_student(info["student"])
    started = time.perf_counter()
    student = ops.train_student(initial, soft)
    info["distill_seconds"] = round(time.perf_counter() - started, 2)
    info["distilled_val_accuracy"] = ops.val_accuracy(student)
    info["student_params"] = ops.param_count(student)
    if cfg.compare_alone:
        started = time.perf_counter()
        alone = ops.train_student(initial, None)
        info["student_alone_seconds"] = round(time.perf_counter() - started, 2)
        info["student_alone_val_accuracy"] = ops.val_accuracy(alone)
        info["kd_gain_val_pp"] = round((info["distilled_val_accuracy"] - info["student_alone_val_accuracy"]) * 100, 3)
    info["validation_samples"] = int(validation_samples)
    return student
