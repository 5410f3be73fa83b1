"""`kd-hinton` (PyTorch knowledge distillation, Hinton et al. 2015) and `student-scratch` (its no-KD control).

kd-hinton trains a student architecture the track declares from scratch on
    loss = alpha * CE(student, labels) + (1 - alpha) * T^2 * KL(softmax(teacher / T) || softmax(student / T))
and, in the same run, the *same* student (same initial weights, seed, budget and batch order) on the
labels alone, so the record carries both validation accuracies. student-scratch is that control on its
own, so the harness measures the no-KD student's test accuracy in a record of its own.

The teacher is fixed while the student trains (no dropout, no augmentation), so its logits over the
training split are computed once and packed next to the labels; the shared `fit` loop then shuffles
them together with the inputs."""
from __future__ import annotations

import copy
import time

import numpy as np

from methods import METHODS
from methods.base import Method
from suite.errors import ConfigError
from methods.distillation.common import (DistillConfig, KDOps, StudentTrainingConfig, distil, resolve_budget,
                                         resolve_student, resolve_teacher, torch_recipe)


# -- training pieces (also used by the hinton2015-mnist reproduction) --------------------------------

def build_student(track, name: str, seed: int):
    """A freshly initialised architecture; the init depends on the seed only."""
    from suite.tracks.training import seed_everything

    seed_everything(seed)
    return track.build_architecture(name)


def predict_logits(model, x: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """Logits of `model` for every row of x, in x's order. Token-id rows (2-D integers, pad id 0) are run in
    batches of similar length, because the eager Transformer computes only up to a batch's longest row:
    SST-2's teacher logits took ~200 s in dataset order and ~40 s sorted (same values up to float rounding)."""
    import torch

    model.eval()
    order = np.arange(len(x))
    if np.issubdtype(x.dtype, np.integer) and x.ndim == 2:
        order = np.argsort((x != 0).sum(axis=1), kind="stable")
        batch_size = min(batch_size, 512)
    out = None
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            rows = order[i:i + batch_size]
            logits = model(torch.from_numpy(np.ascontiguousarray(x[rows]))).float().numpy()
            if out is None:
                out = np.empty((len(x), logits.shape[1]), np.float32)
            out[rows] = logits
    return out


def distillation_loss(student_logits, labels, teacher_logits, temperature: float, alpha: float):
    """alpha * CE + (1 - alpha) * T^2 * KL(p_teacher^T || p_student^T) (batch mean). The T^2 keeps the soft
    term's gradient scale independent of T (Hinton et al. 2015, section 2)."""
    import torch.nn.functional as F

    hard = F.cross_entropy(student_logits, labels)
    if alpha >= 1.0:
        return hard
    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
                    log_target=True, reduction="batchmean") * (t * t)
    return alpha * hard + (1.0 - alpha) * soft


def pack_targets(labels: np.ndarray, teacher_logits: np.ndarray) -> np.ndarray:
    """[label, teacher logits...] per row, so `fit` shuffles the soft targets with the inputs."""
    return np.concatenate([labels.astype(np.float32)[:, None], teacher_logits.astype(np.float32)], axis=1)


def train_distilled(student, x: np.ndarray, y: np.ndarray, teacher_logits: np.ndarray, recipe,
                    temperature: float, alpha: float, input_transform=None, track=None):
    """Train `student` on the distillation loss, with `track`'s training loop when given (else the generic one)."""
    fit = _training_loop(track)

    def loss_fn(model, xb, packed):
        if input_transform is not None:
            xb = input_transform(xb)
        return distillation_loss(model(xb), packed[:, 0].long(), packed[:, 1:], temperature, alpha)

    return fit(student, x, pack_targets(y, teacher_logits), recipe, loss_fn=loss_fn)


def train_alone(model, x: np.ndarray, y: np.ndarray, recipe, input_transform=None, track=None):
    """Plain cross-entropy training with the same loop (and so the same batch order for the same seed)."""
    import torch.nn.functional as F

    fit = _training_loop(track)

    def loss_fn(m, xb, yb):
        if input_transform is not None:
            xb = input_transform(xb)
        return F.cross_entropy(m(xb), yb)

    return fit(model, x, y, recipe, loss_fn=loss_fn)


def _training_loop(track):
    if track is not None:
        return track.fit
    from suite.tracks.training import fit
    return fit


def with_dropout(model, dropout: float = 0.0, input_dropout: float = 0.0):
    """A training view of an nn.Sequential with dropout on the input and after every ReLU. It shares the
    parameters, so training the view trains `model`, and `model` itself (what gets exported) has no dropout
    layers (inverted dropout: nothing to rescale at inference)."""
    from torch import nn

    if not dropout and not input_dropout:
        return model
    layers = [nn.Dropout(input_dropout)] if input_dropout else []
    for module in model:
        layers.append(module)
        if dropout and isinstance(module, nn.ReLU):
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def jitter_transform(pixels: int):
    """Random translation of each image (B, C, H, W) by up to `pixels` in x and y, zero-filled (the
    "jittered" MNIST inputs of Hinton et al.). Draws from torch's RNG, which `fit` seeds."""
    import torch
    import torch.nn.functional as F

    def transform(xb):
        if xb.dim() != 4:
            raise ValueError(f"jitter needs image inputs (B, C, H, W); got a batch of shape {tuple(xb.shape)}")
        p = pixels
        h, w = xb.shape[2], xb.shape[3]
        padded = F.pad(xb, (p, p, p, p))
        shifts = torch.randint(-p, p + 1, (xb.shape[0], 2))
        out = torch.empty_like(xb)
        for dy in range(-p, p + 1):
            for dx in range(-p, p + 1):
                rows = ((shifts[:, 0] == dy) & (shifts[:, 1] == dx)).nonzero().flatten()
                if len(rows):
                    out[rows] = padded[rows, :, p - dy:p - dy + h, p - dx:p - dx + w]
        return out
    return transform


def train_regularised(model, x, y, recipe, dropout: float = 0.0, input_dropout: float = 0.0, jitter: int = 0,
                      input_shape: tuple[int, ...] | None = None, track=None):
    """Cross-entropy training with optional dropout / jitter; returns `model` (no dropout layers)."""
    if jitter and input_shape is not None and len(input_shape) != 3:
        raise ConfigError(f"jitter={jitter} needs image inputs (C, H, W); this track's input shape is {input_shape}")
    train_alone(with_dropout(model, dropout, input_dropout), x, y, recipe,
                input_transform=jitter_transform(jitter) if jitter else None, track=track)
    return model.eval()


def regularisation_info(dropout: float, input_dropout: float, jitter: int) -> dict:
    return {"dropout": dropout, "input_dropout": input_dropout, "jitter_pixels": jitter}


def _loop_info(track) -> dict:
    loop = track.training_loop_info()
    return {"training_loop": loop} if loop else {}


def _param_count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


# -- methods -----------------------------------------------------------------------------------------

@METHODS.register
class KDHinton(Method):
    name = "kd-hinton"
    needs_training = True
    family = "distillation"
    framework = "torch"
    description = ("Hinton knowledge distillation (soft targets at temperature T) into a student the track declares, "
                   "vs the same student trained without KD")
    formats = ("onnx", "tflite", "torchscript")
    Config = DistillConfig
    in_default_suite = False  # trains two students from scratch (tens of seconds to minutes on MNIST)

    def apply(self, model, context):
        from suite.tracks.training import accuracy_torch

        cfg: DistillConfig = self.config
        track = model.track
        student_name = resolve_student(cfg, track)
        budget = resolve_budget(cfg, track)
        train, val, seed = context.train, context.validation, context.seed
        recipe = torch_recipe(budget, seed)
        info: dict = {"student": student_name, "teacher": resolve_teacher(cfg, track, student_name),
                      "temperature": cfg.temperature, "alpha": cfg.alpha, **budget.to_info(), **_loop_info(track),
                      "seed": seed, "student_regularisation": regularisation_info(cfg.dropout, cfg.input_dropout, 0)}

        def train_teacher(name, epochs):
            # Seeded exactly like student-scratch with student=<teacher> (same seed, epochs, regularisation), so
            # that run's record measures this very teacher on the test split.
            info["teacher_regularisation"] = regularisation_info(cfg.teacher_dropout, cfg.teacher_input_dropout,
                                                                 cfg.teacher_jitter)
            teacher = train_regularised(build_student(track, name, seed), train.x, train.y,
                                        torch_recipe(budget, seed, epochs), cfg.teacher_dropout,
                                        cfg.teacher_input_dropout, cfg.teacher_jitter, track.input_shape, track)
            return teacher, f"{name} trained from scratch in this run ({epochs} epochs)"

        def train_student(initial, soft):
            student = copy.deepcopy(initial)
            if soft is None:
                return train_regularised(student, train.x, train.y, recipe, cfg.dropout, cfg.input_dropout,
                                         track=track)
            train_distilled(with_dropout(student, cfg.dropout, cfg.input_dropout), train.x, train.y, soft, recipe,
                            cfg.temperature, cfg.alpha, track=track)
            return student.eval()

        ops = KDOps(
            reference_teacher=lambda: (model.torch(), f"reference checkpoint of {track.name} "
                                                      f"(sha256 {model.sha256[:12]})"),
            train_teacher=train_teacher,
            teacher_logits=lambda teacher: predict_logits(teacher, train.x),
            val_accuracy=lambda m: accuracy_torch(m, val.x, val.y),
            param_count=_param_count,
            new_student=lambda name: build_student(track, name, seed),
            train_student=train_student)
        student = distil(cfg, track, ops, info, len(val))
        return context.export_torch(student, f"kd-hinton-{student_name}", info=info)


@METHODS.register
class StudentScratch(Method):
    name = "student-scratch"
    needs_training = True
    family = "distillation"
    framework = "torch"
    description = "Control for distillation: the same student architecture trained on labels alone, same budget"
    formats = ("onnx", "tflite", "torchscript")
    Config = StudentTrainingConfig
    in_default_suite = False

    def apply(self, model, context):
        from suite.tracks.training import accuracy_torch

        cfg: StudentTrainingConfig = self.config
        track = model.track
        student_name = resolve_student(cfg, track)
        budget = resolve_budget(cfg, track)
        started = time.perf_counter()
        student = train_regularised(build_student(track, student_name, context.seed), context.train.x,
                                    context.train.y, torch_recipe(budget, context.seed), cfg.dropout,
                                    cfg.input_dropout, cfg.jitter, track.input_shape, track)
        info = {"student": student_name, "teacher": None, **budget.to_info(), "seed": context.seed,
                **_loop_info(track),
                **regularisation_info(cfg.dropout, cfg.input_dropout, cfg.jitter),
                "student_params": _param_count(student),
                "train_seconds": round(time.perf_counter() - started, 2),
                "student_alone_val_accuracy": accuracy_torch(student, context.validation.x, context.validation.y),
                "validation_samples": int(len(context.validation))}
        return context.export_torch(student, f"student-scratch-{student_name}", info=info)
