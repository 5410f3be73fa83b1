"""Distillation adapters: kd-hinton (PyTorch), keras-kd (tf-keras), student-scratch (the no-KD control).

Fast tests run on digits-mlp with a few epochs; the MNIST acceptance check (KD beats the same student
trained alone under the same budget and seed) is marked slow."""
from __future__ import annotations

import numpy as np
import pytest

from suite.errors import ConfigError
from tests.conftest import requires_mnist

FAST = {"epochs": 4}  # digits-mlp: 4 epochs x 20 steps, a second or two per student


def _method(name, **params):
    from methods import METHODS
    return METHODS.get(name).from_params(params)


# -- registry and config ------------------------------------------------------------------------------

def test_registered_with_family_and_formats():
    from methods import METHODS

    for name, formats in (("kd-hinton", {"onnx", "tflite", "torchscript"}), ("keras-kd", {"tflite"}),
                          ("student-scratch", {"onnx", "tflite", "torchscript"})):
        cls = METHODS.get(name)
        assert cls.family == "distillation" and set(cls.formats) == formats
        assert cls.in_default_suite is False  # trains students from scratch: too slow for the default suite


@pytest.mark.parametrize("params, message", [
    ({"alpha": "1.5"}, "alpha=1.5"),
    ({"temperature": "0"}, "temperature=0"),
    ({"epochs": "-1"}, "epochs=-1"),
    ({"teacher_epochs": "3"}, "reference teacher is already trained"),
    ({"teacher": "mlp-64-32", "student": "mlp-64-32"}, "both 'mlp-64-32'"),
    ({"jitter": "2"}, "teacher_jitter"),
    ({"dropout": "1.0"}, "dropout=1.0"),
    ({"temprature": "4"}, "unknown parameter"),
])
def test_bad_config_is_a_clear_error(params, message):
    with pytest.raises(ConfigError, match=message):
        _method("kd-hinton", **params)


def test_keras_kd_refuses_what_it_does_not_implement():
    with pytest.raises(ConfigError, match="keras-kd does not implement dropout"):
        _method("keras-kd", dropout="0.5")


def test_cli_strings_are_coerced():
    method = _method("kd-hinton", temperature="20", alpha="0.5", epochs="3", compare_alone="false")
    assert method.config.temperature == 20.0 and method.config.alpha == 0.5
    assert method.config.epochs == 3 and method.config.compare_alone is False


def test_default_student_and_budget_per_track():
    from methods.distillation.common import DistillConfig, default_student, resolve_budget
    from suite.tracks import get_track

    assert default_student(get_track("digits-mlp")) == "mlp-64-32"
    assert default_student(get_track("mnist-lenet300")) == "mlp-50-50"      # not the 1200-1200 teacher
    assert default_student(get_track("mnist-lenet5")) == "lenet5-half"
    budget = resolve_budget(DistillConfig(), get_track("mnist-lenet300"))
    assert budget.epochs == 5 and budget.lr == 0.05 and budget.batch_size == 128  # ceil(20 / 4), recipe lr
    assert "track default" in budget.epochs_source
    assert resolve_budget(DistillConfig(epochs=7), get_track("digits-mlp")).epochs_source == "config"


# -- the loss -----------------------------------------------------------------------------------------

def test_distillation_loss_matches_the_formula():
    import torch
    import torch.nn.functional as F

    from methods.distillation.kd_torch import distillation_loss

    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(16, 10, generator=g), torch.randn(16, 10, generator=g) * 3
    y = torch.randint(0, 10, (16,), generator=g)
    T, alpha = 4.0, 0.3
    p_t = F.softmax(t / T, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / T, 1))).sum(1).mean()
    expected = alpha * F.cross_entropy(s, y) + (1 - alpha) * T * T * kl
    assert torch.allclose(distillation_loss(s, y, t, T, alpha), expected, atol=1e-5)
    # alpha = 1 is plain cross-entropy; a student equal to its teacher pays no soft loss
    assert torch.allclose(distillation_loss(s, y, t, T, 1.0), F.cross_entropy(s, y))
    assert torch.allclose(distillation_loss(t, y, t, T, 0.0), torch.tensor(0.0), atol=1e-6)


def test_keras_loss_equals_torch_loss():
    import tensorflow as tf
    import torch

    from methods.distillation.kd_keras import kd_loss
    from methods.distillation.kd_torch import distillation_loss, pack_targets

    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(32, 10)).astype(np.float32), (3 * rng.normal(size=(32, 10))).astype(np.float32)
    y = rng.integers(0, 10, 32)
    for T, alpha in ((4.0, 0.1), (20.0, 0.5), (1.0, 1.0)):
        ours = float(tf.reduce_mean(kd_loss(T, alpha)(tf.constant(pack_targets(y, t)), tf.constant(s))))
        ref = float(distillation_loss(torch.from_numpy(s), torch.from_numpy(y), torch.from_numpy(t), T, alpha))
        assert ours == pytest.approx(ref, rel=1e-4, abs=1e-5)


def test_jitter_translates_within_bounds_and_dropout_view_shares_weights():
    import torch

    from methods.distillation.kd_torch import jitter_transform, with_dropout
    from suite.tracks.torch_models import mlp

    torch.manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 14, 14] = 1.0  # one lit pixel per image: where it lands is the shift
    moved = jitter_transform(2)(x)
    assert moved.shape == x.shape and torch.all(moved.sum((1, 2, 3)) == 1.0)
    where = moved[:, 0].flatten(1).argmax(1)
    dy, dx = where // 28 - 14, where % 28 - 14
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2 and len(set(zip(dy.tolist(), dx.tolist()))) > 5
    with pytest.raises(ValueError, match="image inputs"):
        jitter_transform(2)(torch.zeros(4, 64))

    model = mlp([64, 32, 10])
    view = with_dropout(model, dropout=0.5, input_dropout=0.2)
    assert sum(isinstance(m, torch.nn.Dropout) for m in view) == 2
    assert {id(p) for p in view.parameters()} == {id(p) for p in model.parameters()}
    assert not any(isinstance(m, torch.nn.Dropout) for m in model)  # the exported model has none


# -- apply on digits-mlp ------------------------------------------------------------------------------

def test_kd_hinton_trains_both_students_and_exports_the_distilled_one(method_context):
    from suite.tracks.base import ReferenceModel

    track, ctx = method_context("digits-mlp", formats=("onnx",))
    artifacts = _method("kd-hinton", **FAST).apply(ReferenceModel(track), ctx)
    assert [a.format for a in artifacts] == ["onnx"] and artifacts[0].path.exists()
    info = artifacts[0].info
    assert info["student"] == "mlp-64-32" and info["teacher"] == "reference"
    assert info["temperature"] == 4.0 and info["alpha"] == 0.1 and info["epochs"] == 4
    assert info["student_params"] == 64 * 32 + 32 + 32 * 10 + 10 == artifacts[0].params
    assert info["teacher_params"] == 17226
    # both students really learned (10 classes: chance is 10%); the record compares them
    assert info["distilled_val_accuracy"] > 0.5 and info["student_alone_val_accuracy"] > 0.5
    assert info["kd_gain_val_pp"] == pytest.approx(
        (info["distilled_val_accuracy"] - info["student_alone_val_accuracy"]) * 100, abs=1e-3)
    assert info["teacher_val_accuracy"] > 0.9


def test_student_scratch_is_the_same_student_as_kd_hintons_control(method_context):
    """Same seed, budget and init: student-scratch's validation accuracy is kd-hinton's student-alone one."""
    from suite.tracks.base import ReferenceModel

    track, ctx = method_context("digits-mlp", formats=("onnx",))
    kd = _method("kd-hinton", **FAST).apply(ReferenceModel(track), ctx)[0].info
    alone = _method("student-scratch", **FAST).apply(ReferenceModel(track), ctx)[0].info
    assert alone["teacher"] is None and alone["student"] == kd["student"]
    assert alone["student_alone_val_accuracy"] == kd["student_alone_val_accuracy"]


def test_declared_teacher_is_trained_here_and_matches_student_scratch(method_context):
    from suite.tracks.base import ReferenceModel

    track, ctx = method_context("digits-mlp", formats=("onnx",))
    params = dict(teacher="mlp-64-256-256", teacher_epochs=3, teacher_dropout=0.2, epochs=2, compare_alone=False)
    info = _method("kd-hinton", **params).apply(ReferenceModel(track), ctx)[0].info
    assert info["teacher"] == "mlp-64-256-256" and info["teacher_epochs"] == 3
    assert info["teacher_regularisation"]["dropout"] == 0.2
    assert "student_alone_val_accuracy" not in info
    # the reproduction relies on this: student-scratch with student=<teacher> trains the very same teacher
    same = _method("student-scratch", student="mlp-64-256-256", epochs=3, dropout=0.2).apply(
        ReferenceModel(track), ctx)[0].info
    assert same["student_alone_val_accuracy"] == info["teacher_val_accuracy"]


def test_unknown_student_names_the_declared_ones(method_context):
    from suite.tracks.base import ReferenceModel

    track, ctx = method_context("digits-mlp", formats=("onnx",))
    with pytest.raises(ConfigError, match="mlp-64-32"):
        _method("kd-hinton", student="mlp-9-9").apply(ReferenceModel(track), ctx)


def test_jitter_on_a_flat_track_is_a_clear_error(method_context):
    from suite.tracks.base import ReferenceModel

    track, ctx = method_context("digits-mlp", formats=("onnx",))
    with pytest.raises(ConfigError, match="needs image inputs"):
        _method("student-scratch", jitter=2, epochs=1).apply(ReferenceModel(track), ctx)


def test_keras_kd_exports_tflite_with_both_accuracies(method_context):
    from suite.tracks.base import ReferenceModel

    track, ctx = method_context("digits-mlp", formats=("tflite",))
    artifacts = _method("keras-kd", **FAST).apply(ReferenceModel(track), ctx)
    artifacts = artifacts if isinstance(artifacts, list) else [artifacts]
    (artifact,) = artifacts
    assert artifact.format == "tflite" and artifact.framework == "tensorflow" and artifact.path.stat().st_size > 0
    info = artifact.info
    assert info["student"] == "mlp-64-32" and artifact.params == info["student_params"] == 2410
    assert info["teacher_val_accuracy"] > 0.9  # the ported reference, identical weights
    assert info["distilled_val_accuracy"] > 0.5 and info["student_alone_val_accuracy"] > 0.5


# -- through the harness ------------------------------------------------------------------------------

def test_harness_records_name_teacher_and_student(quick_session):
    from suite.harness import RunSpec

    kd = quick_session.run(RunSpec("digits-mlp", "kd-hinton", "cpu", 0, {"epochs": "4"}))
    alone = quick_session.run(RunSpec("digits-mlp", "student-scratch", "cpu", 0, {"epochs": "4"}))
    for record in (kd, alone):
        assert record["status"] == "ok", record.get("error")
        assert 0.5 < record["results"]["accuracy"] <= 1.0 and record["results"]["test_samples"] == 360
        assert record["results"]["size"]["params"] == 2410
    info = kd["results"]["method_info"]
    assert info["teacher"] == "reference" and info["student"] == "mlp-64-32" and info["epochs"] == 4
    assert {"distilled_val_accuracy", "student_alone_val_accuracy", "temperature", "alpha"} <= set(info)
    assert alone["results"]["method_info"]["student_alone_val_accuracy"] == info["student_alone_val_accuracy"]


def test_a_distillation_that_raises_midway_yields_a_failed_record_and_the_session_goes_on(quick_session,
                                                                                         monkeypatch):
    from methods.distillation import kd_torch
    from suite.harness import RunSpec

    def broken(*args, **kwargs):
        raise RuntimeError("student exploded after the teacher's logits were computed")

    monkeypatch.setattr(kd_torch, "train_distilled", broken)
    failed = quick_session.run(RunSpec("digits-mlp", "kd-hinton", "cpu", 0, {"epochs": "1"}))
    assert failed["status"] == "failed" and failed["error"]["phase"] == "method"
    assert failed["error"]["type"] == "RuntimeError" and "student exploded" in failed["error"]["message"]
    assert "train_distilled" in failed["error"]["traceback"] or "broken" in failed["error"]["traceback"]
    ok = quick_session.run(RunSpec("digits-mlp", "student-scratch", "cpu", 0, {"epochs": "1"}))
    assert ok["status"] == "ok"


# -- MNIST acceptance ---------------------------------------------------------------------------------

@pytest.mark.slow
@requires_mnist
def test_kd_beats_the_same_student_alone_on_mnist_lenet300(quick_session):
    """Issue 4 acceptance: kd-hinton beats the same 784-50-50-10 student trained without KD, same budget
    (the track default, 5 epochs) and seed, on validation (in the run) and on test (two records)."""
    from suite.harness import RunSpec

    kd = quick_session.run(RunSpec("mnist-lenet300", "kd-hinton", "cpu", 0))
    alone = quick_session.run(RunSpec("mnist-lenet300", "student-scratch", "cpu", 0))
    assert kd["status"] == "ok" and alone["status"] == "ok"
    info = kd["results"]["method_info"]
    assert info["student"] == "mlp-50-50" and info["epochs"] == 5
    assert info["distilled_val_accuracy"] > info["student_alone_val_accuracy"]
    assert kd["results"]["accuracy"] > alone["results"]["accuracy"]
