"""`keras-kd`: Hinton knowledge distillation in tf-keras (TF_USE_LEGACY_KERAS=1), exported to TFLite.

Same loss and budget rules as kd-hinton: alpha * CE + (1 - alpha) * T^2 * KL(p_teacher^T || p_student^T),
SGD with momentum and a cosine-decayed learning rate. The teacher is the track's reference model ported
to Keras (`model.keras()`, identical weights) or a declared architecture trained here; the student is the
declared architecture rebuilt in Keras through the same port (so its initial weights are those of the
seeded PyTorch init). The same student is also trained on the labels alone (same init, seed, budget) and
both validation accuracies go into the record.

Differences from kd-hinton worth knowing: Keras' SGD `weight_decay` is decoupled (w -= lr * wd * w each
step) where torch's adds wd * w to the gradient before momentum; batch order comes from Keras' seeded
shuffle, not from `suite.tracks.training.fit`. Output: TFLite only (no Keras -> ONNX converter is pinned)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from methods import METHODS
from methods.base import Method
from methods.distillation.common import DistillConfig, KDOps, distil, resolve_budget, resolve_student, resolve_teacher
from suite.artifacts import ExportedArtifact, input_layout
from suite.errors import ConfigError
from suite.lazy import require


@dataclass(frozen=True)
class KerasDistillConfig(DistillConfig):
    """kd-hinton's config; keras-kd trains without dropout or jitter (use kd-hinton for those)."""

    def __post_init__(self):
        super().__post_init__()
        used = [name for name in ("dropout", "input_dropout", "jitter", "teacher_dropout", "teacher_input_dropout",
                                  "teacher_jitter") if getattr(self, name)]
        if used:
            raise ConfigError(f"keras-kd does not implement {', '.join(used)}; kd-hinton (PyTorch) does")


def _keras_x(x: np.ndarray) -> np.ndarray:
    from methods.export.tflite_export import to_nhwc
    return to_nhwc(x)


def _keras_accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    logits = model.predict(x, batch_size=2000, verbose=0)
    return float((logits.argmax(1) == y).mean())


def _compile(keras, model, loss, budget, steps: int):
    schedule = keras.optimizers.schedules.CosineDecay(budget.lr, decay_steps=max(1, steps))
    if budget.optimizer == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=schedule, weight_decay=budget.weight_decay or None)
    else:
        optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=budget.momentum,
                                         weight_decay=budget.weight_decay)
    model.compile(optimizer=optimizer, loss=loss)


def kd_loss(temperature: float, alpha: float):
    """y_true packs [label, teacher logits...] per row (see kd_torch.pack_targets)."""
    tf = require("tensorflow", "tf")
    t = float(temperature)

    def loss(y_true, y_pred):
        labels = tf.cast(y_true[:, 0], tf.int32)
        hard = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=y_pred)
        if alpha >= 1.0:
            return hard
        log_p_teacher = tf.nn.log_softmax(y_true[:, 1:] / t, axis=1)
        log_p_student = tf.nn.log_softmax(y_pred / t, axis=1)
        soft = tf.reduce_sum(tf.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=1) * (t * t)
        return alpha * hard + (1.0 - alpha) * soft
    return loss


def ce_loss():
    tf = require("tensorflow", "tf")

    def loss(y_true, y_pred):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(tf.reshape(y_true, [-1]), tf.int32),
                                                              logits=y_pred)
    return loss


def _fit(keras, model, x, targets, loss, budget, epochs: int, seed: int):
    keras.utils.set_random_seed(seed)
    steps = epochs * int(np.ceil(len(x) / budget.batch_size))
    _compile(keras, model, loss, budget, steps)
    model.fit(x, targets, batch_size=budget.batch_size, epochs=epochs, shuffle=True, verbose=0)
    return model


def _clone(keras, model):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


@METHODS.register
class KerasKD(Method):
    name = "keras-kd"
    needs_training = True
    family = "distillation"
    framework = "tensorflow"
    description = ("Hinton knowledge distillation in tf-keras into a student the track declares (TFLite), "
                   "vs the same student trained without KD")
    formats = ("tflite",)
    Config = KerasDistillConfig
    in_default_suite = False  # trains two students from scratch

    def apply(self, model, context):
        keras = require("tf_keras", "tf")
        from methods.distillation.kd_torch import build_student, pack_targets
        from methods.export.tflite_export import keras_to_tflite
        from suite.tracks.keras_port import torch_to_keras

        cfg: DistillConfig = self.config
        track = model.track
        student_name = resolve_student(cfg, track)
        budget = resolve_budget(cfg, track)
        seed = context.seed
        x_train, y_train = _keras_x(context.train.x), context.train.y
        x_val, y_val = _keras_x(context.validation.x), context.validation.y
        info: dict = {"student": student_name, "teacher": resolve_teacher(cfg, track, student_name),
                      "temperature": cfg.temperature, "alpha": cfg.alpha, **budget.to_info(), "seed": seed,
                      "weight_decay_kind": "decoupled (Keras SGD weight_decay)"}

        def train_teacher(name, epochs):
            teacher = torch_to_keras(build_student(track, name, seed), track.input_shape)
            _fit(keras, teacher, x_train, y_train, ce_loss(), budget, epochs, seed)
            return teacher, f"{name} trained from scratch in Keras in this run ({epochs} epochs)"

        def train_student(initial, soft):
            targets, loss = ((y_train, ce_loss()) if soft is None else
                             (pack_targets(y_train, soft), kd_loss(cfg.temperature, cfg.alpha)))
            return _fit(keras, _clone(keras, initial), x_train, targets, loss, budget, budget.epochs, seed)

        ops = KDOps(
            reference_teacher=lambda: (model.keras(), f"reference checkpoint of {track.name} ported to Keras "
                                                      f"(sha256 {model.sha256[:12]})"),
            train_teacher=train_teacher,
            teacher_logits=lambda teacher: teacher.predict(x_train, batch_size=2000, verbose=0).astype(np.float32),
            val_accuracy=lambda m: _keras_accuracy(m, x_val, y_val),
            param_count=lambda m: int(m.count_params()),
            new_student=lambda name: torch_to_keras(build_student(track, name, seed), track.input_shape),
            train_student=train_student)
        student = distil(cfg, track, ops, info, len(y_val))

        context.output_model = student  # in a chain, the next stage starts from the distilled student
        path = keras_to_tflite(student, context.workdir / f"keras-kd-{student_name}.tflite")
        nonzero = int(sum(int(np.count_nonzero(w)) for w in student.get_weights()))
        return ExportedArtifact("tflite", path, input_layout=input_layout(track.input_shape, channels_last=True),
                                params=int(student.count_params()), nonzero_params=nonzero,
                                framework="tensorflow", info=info)
