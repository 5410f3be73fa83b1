"""Pruning adapters on digits-mlp (seconds): configs, masks, channel surgery, artifacts, harness runs."""
from __future__ import annotations

import numpy as np
import pytest

from suite.errors import ConfigError


def _onnx_weights(path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


# -- torch-magnitude ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, message", [
    ({"sparsity": "1.0"}, "sparsity=1.0 must be in [0, 1)"),
    ({"scope": "everything"}, "not one of"),
    ({"schedule": "sometimes"}, "not one of"),
    ({"layer_sparsity": "0.5,1.5"}, "each entry must be in [0, 1)"),
    ({"layer_sparsity": "0.5,0.5,0.5", "scope": "global"}, "needs scope=layer"),
    ({"iterations": "0"}, "iterations=0 must be >= 1"),
    ({"nope": "1"}, "unknown parameter(s) nope"),
])
def test_magnitude_config_errors_are_clear(params, message):
    from methods.pruning.magnitude import TorchMagnitude

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        TorchMagnitude.from_params(params)


def test_magnitude_masks_per_layer_and_global():
    import torch

    from methods.pruning.common import prunable_layers
    from methods.pruning.magnitude import magnitude_masks
    from suite.tracks.torch_models import mlp

    torch.manual_seed(0)
    net = mlp([64, 128, 64, 10])
    layers = prunable_layers(net)
    assert [layer.name for layer in layers] == ["fc1", "fc2", "fc3"]
    masks = magnitude_masks(layers, [0.5, 0.9, 0.0], None)
    kept = [int(m.sum()) for m in masks]
    assert kept == [round(0.5 * 8192), round(0.1 * 8192), 640]
    # the kept weights are the largest in magnitude
    w = layers[1].weight.detach().abs()
    assert w[masks[1].bool()].min() >= w[~masks[1].bool()].max()
    gmasks = magnitude_masks(layers, None, 0.8)
    total = sum(layer.weight.numel() for layer in layers)
    assert sum(int(m.sum()) for m in gmasks) == round(0.2 * total)
    threshold = min(float(layer.weight.detach().abs()[m.bool()].min()) for layer, m in zip(layers, gmasks))
    assert all(float(layer.weight.detach().abs()[~m.bool()].max()) <= threshold for layer, m in zip(layers, gmasks))


def test_polynomial_schedule_endpoints():
    from methods.pruning.magnitude import polynomial_sparsity

    assert polynomial_sparsity(0.9, 0.0) == 0.0
    assert polynomial_sparsity(0.9, 1.0) == pytest.approx(0.9)
    assert polynomial_sparsity(0.9, 2.0) == pytest.approx(0.9)
    values = [polynomial_sparsity(0.9, p / 10) for p in range(11)]
    assert values == sorted(values)
    assert values[5] > 0.45  # fast early, slow late (cubic)


@pytest.mark.parametrize("schedule", ["oneshot", "gradual", "iterative"])
def test_magnitude_reaches_target_and_zeros_survive_export(method_context, schedule):
    from methods.pruning.magnitude import TorchMagnitude

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    method = TorchMagnitude.from_params({"sparsity": "0.8", "scope": "layer", "schedule": schedule,
                                         "epochs": "2", "iterations": "2"})
    [artifact] = method.apply(_reference("digits-mlp"), ctx)
    info = artifact.info
    for name, layer in info["layers"].items():
        assert layer["sparsity"] == pytest.approx(0.8, abs=1e-3), name
    assert info["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert info["schedule_effective"] == schedule
    assert "not speed" in info["speedup_note"]
    if schedule == "iterative":
        assert [h["iteration"] for h in info["iterations"]] == [1, 2]
    # the ONNX initialisers hold the zeros; nonzero_params counts them (weights + biases)
    weights = _onnx_weights(artifact.path)
    nonzero = sum(int(np.count_nonzero(w)) for w in weights.values())
    assert nonzero == artifact.nonzero_params
    matrices = [w for w in weights.values() if w.ndim == 2]
    assert sum(w.size - np.count_nonzero(w) for w in matrices) == info["weights"] - info["nonzero_weights"]
    assert 0.5 < info["validation_accuracy"] <= 1.0


def test_magnitude_global_and_per_layer_targets(method_context):
    from methods.pruning.magnitude import TorchMagnitude

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    [art] = TorchMagnitude.from_params({"layer_sparsity": "0.5,0.9,0.2", "scope": "layer", "schedule": "oneshot",
                                        "epochs": "1"}).apply(_reference("digits-mlp"), ctx)
    assert [round(v["sparsity"], 2) for v in art.info["layers"].values()] == [0.5, 0.9, 0.2]
    _, ctx = method_context("digits-mlp", formats=("onnx",))
    [art] = TorchMagnitude.from_params({"sparsity": "0.7", "scope": "global", "schedule": "oneshot",
                                        "epochs": "0"}).apply(_reference("digits-mlp"), ctx)
    assert art.info["sparsity"] == pytest.approx(0.7, abs=1e-3)
    assert art.info["finetune_epochs"] == 0
    sparsities = [v["sparsity"] for v in art.info["layers"].values()]
    assert max(sparsities) - min(sparsities) > 0.01  # one threshold, different per-layer outcomes


def test_magnitude_defaults_are_global_at_the_reference_lr(method_context):
    """The defaults are what kept 90%-sparse MNIST nets within 0.3 pp: one global threshold, fine-tuned at the
    rate the reference was trained with (the budget's finetune_lr lost 0.7-0.9 pp)."""
    from methods.pruning.magnitude import TorchMagnitude

    reference = _reference("digits-mlp")
    _, ctx = method_context("digits-mlp", formats=("onnx",))
    [art] = TorchMagnitude.from_params({"epochs": "1"}).apply(reference, ctx)
    assert art.info["scope"] == "global"
    assert art.info["finetune_lr"] == reference.track.recipe.lr != ctx.budget.finetune_lr
    assert art.info["finetune_lr_source"] == "track reference recipe"
    assert art.info["sparsity"] == pytest.approx(0.9, abs=1e-3)
    [art] = TorchMagnitude.from_params({"epochs": "1", "lr": "0.002"}).apply(reference, ctx)
    assert (art.info["finetune_lr"], art.info["finetune_lr_source"]) == (0.002, "config")


def test_magnitude_bad_layer_count_and_budget_are_reported(method_context):
    from methods.pruning.magnitude import TorchMagnitude

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    with pytest.raises(ConfigError, match=r"3 prunable layers \(fc1, fc2, fc3\)"):
        TorchMagnitude.from_params({"layer_sparsity": "0.5,0.5", "scope": "layer"}).apply(
            _reference("digits-mlp"), ctx)
    with pytest.raises(ConfigError, match="iterative with 4 iterations needs at least 4"):
        TorchMagnitude.from_params({"schedule": "iterative", "iterations": "4", "epochs": "2"}).apply(
            _reference("digits-mlp"), ctx)
    [art] = TorchMagnitude.from_params({"epochs": "7", "schedule": "oneshot"}).apply(_reference("digits-mlp"), ctx)
    assert "above the track budget of 5" in art.info["over_budget"]


# -- torch-channel -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["mlp", "lenet5"])
def test_channel_surgery_is_exact_for_dead_channels(arch):
    """Zero the weakest channels (weights and bias): removing them must not change any output."""
    import torch

    from methods.pruning.channel import prune_channels, weighted_layers
    from suite.tracks.torch_models import lenet5_caffe, mlp

    torch.manual_seed(0)
    net = mlp([64, 32, 16, 10]) if arch == "mlp" else lenet5_caffe(8, 12, 20)
    shape = (64,) if arch == "mlp" else (1, 28, 28)
    with torch.no_grad():
        for layer in weighted_layers(net)[:-1]:
            n = layer.weight.shape[0]
            dead = torch.randperm(n)[: n // 2]
            layer.weight[dead] = 0
            layer.bias[dead] = 0
    x = torch.randn((4, *shape))
    with torch.no_grad():
        expected = net(x)
    pruned, report = prune_channels(net, shape, 0.5)
    assert all(r["channels_after"] == r["channels_before"] // 2 for r in report.values())
    with torch.no_grad():
        assert torch.allclose(expected, pruned(x), atol=1e-5)


def test_channel_follows_residual_connections():
    """Torch-Pruning prunes a ResNet-8 stack's channels as one group (both sides of each addition), keeps the
    output layer whole, and the result is the half-width network with a quarter of the MACs."""
    import torch

    from methods.pruning.channel import count_macs, prune_channels
    from suite.tracks.resnet8 import resnet8
    from suite.tracks.torch_models import count_params

    torch.manual_seed(0)
    net = resnet8().eval()
    macs = count_macs(net, (3, 32, 32))
    pruned, report = prune_channels(net, (3, 32, 32), 0.5)
    assert [r["channels_after"] for r in report.values()] == [8, 8, 8, 16, 16, 16, 32, 32, 32]
    assert pruned.fc.out_features == 10 and pruned.fc.in_features == 32
    assert count_params(pruned)[0] == count_params(resnet8((8, 16, 32)))[0]
    assert count_macs(pruned, (3, 32, 32)) / macs == pytest.approx(0.26, abs=0.01)
    assert pruned(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_channel_prunes_and_exports(method_context):
    from methods.pruning.channel import TorchChannel

    _, ctx = method_context("digits-mlp", formats=("onnx", "tflite"))
    artifacts = TorchChannel.from_params({"ratio": "0.5", "epochs": "1"}).apply(_reference("digits-mlp"), ctx)
    assert {a.format for a in artifacts} == {"onnx", "tflite"}
    info = artifacts[0].info
    assert info["layers"] == {"fc1": {"channels_before": 128, "channels_after": 64, "removed_ratio": 0.5},
                              "fc2": {"channels_before": 64, "channels_after": 32, "removed_ratio": 0.5}}
    assert artifacts[0].params == info["params_after"] == 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    assert info["macs_ratio"] < 0.5
    weights = _onnx_weights(artifacts[0].path)
    assert sorted(w.shape for w in weights.values() if w.ndim == 2) == [(10, 32), (32, 64), (64, 64)]


def test_channel_config_errors():
    from methods.pruning.channel import TorchChannel

    with pytest.raises(ConfigError, match=r"ratio=1.0 must be in \[0, 1\)"):
        TorchChannel.from_params({"ratio": "1.0"})


# -- tfmot-prune -------------------------------------------------------------------------------------------
def test_tfmot_prune_on_digits(method_context):
    from methods.pruning.tfmot_prune import TfmotPrune
    from suite.targets.edge import LiteRTRunner

    _, ctx = method_context("digits-mlp", formats=("tflite",))
    artifact = TfmotPrune.from_params({"sparsity": "0.75", "epochs": "2"}).apply(_reference("digits-mlp"), ctx)
    info = artifact.info
    assert artifact.format == "tflite" and artifact.input_layout == "flat"
    for name, layer in info["layers"].items():
        assert layer["sparsity"] == pytest.approx(0.75, abs=0.01), name
    assert artifact.nonzero_params < 0.3 * artifact.params
    logits = LiteRTRunner(artifact.path).predict(ctx.validation.x[:5])
    assert logits.shape == (5, 10)


def test_tfmot_prune_needs_an_epoch(method_context):
    from methods.pruning.tfmot_prune import TfmotPrune

    _, ctx = method_context("digits-mlp", formats=("tflite",))
    with pytest.raises(ConfigError, match="needs >= 1 fine-tuning epoch"):
        TfmotPrune.from_params({"epochs": "0"}).apply(_reference("digits-mlp"), ctx)


# -- through the harness -----------------------------------------------------------------------------------
def test_magnitude_through_harness_records_compression(quick_session):
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "torch-magnitude", "cpu", params={"sparsity": "0.9"}))
    assert record["status"] == "ok", record.get("error")
    size = record["results"]["size"]
    assert size["gzip_compression_ratio"] > 2.5
    assert size["nonzero_params"] < 0.15 * size["params"]
    assert record["results"]["method_info"]["sparsity"] == pytest.approx(0.9, abs=1e-3)
    assert record["config"]["method_family"] == "pruning"


def test_a_method_failing_midway_gives_a_failed_record_and_the_session_goes_on(quick_session):
    from suite.harness import RunSpec

    bad = quick_session.run(RunSpec("digits-mlp", "torch-magnitude", "cpu",
                                    params={"layer_sparsity": "0.5,0.5", "scope": "layer",
                                            "schedule": "oneshot"}))
    assert bad["status"] == "failed"
    assert bad["error"]["phase"] == "method"
    assert bad["error"]["type"] == "ConfigError"
    assert "layer_sparsity has 2 entries" in bad["error"]["message"]
    assert "magnitude.py" in bad["error"]["traceback"] and "Traceback" in bad["error"]["traceback"]
    good = quick_session.run(RunSpec("digits-mlp", "torch-channel", "cpu", params={"epochs": "1"}))
    assert good["status"] == "ok", good.get("error")
    from suite.records.store import load_record
    ids = {p.stem for p in quick_session.store.paths()}
    assert {bad["id"], good["id"]} <= ids
    for path in quick_session.store.paths():
        load_record(path)  # both validate against the schema


def test_torch_magnitude_is_in_the_default_suite():
    from methods import METHODS

    assert METHODS.get("torch-magnitude").in_default_suite
    assert not METHODS.get("torch-channel").in_default_suite
    assert {"torch-magnitude", "torch-channel", "tfmot-prune"} <= {m.name for m in METHODS if m.family == "pruning"}


def _reference(track_name):
    from suite.tracks import get_track
    from suite.tracks.base import ReferenceModel
    return ReferenceModel(get_track(track_name))
