"""Framework-neutral chains (issue 19): a stage hands on a float PyTorch *or* Keras model, the next takes the one it
needs through the track's weight port, an impossible chain is refused before any stage runs, and the chain shares
one budget (its over-budget reason at the record's top level)."""
from __future__ import annotations

import numpy as np
import pytest

from suite.errors import ConfigError


def _reference(track_name="digits-mlp"):
    from suite.tracks import get_track
    from suite.tracks.base import ReferenceModel
    return ReferenceModel(get_track(track_name))


# -- the reverse port -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("track", ["digits-mlp", "mnist-lenet5"])
def test_keras_to_torch_reverses_the_port_exactly(track):
    """torch -> keras -> torch gives back the reference's tensors bit for bit (conv kernels and the
    flatten-order permutation of the first Dense after a feature map included)."""
    import torch

    from suite.tracks.keras_port import keras_to_torch

    reference = _reference(track)
    net = reference.torch()
    back = keras_to_torch(reference.keras(), reference.input_shape)
    assert [type(m).__name__ for m in back] == [type(m).__name__ for m in net]
    for (name, a), (_, b) in zip(net.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), name
    x = torch.randn(3, *reference.input_shape)
    assert torch.equal(net(x), back(x))


def test_reverse_port_refuses_a_functional_model():
    keras = pytest.importorskip("tf_keras")
    from suite.tracks.keras_port import keras_to_torch

    inputs = keras.Input((4,))
    functional = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="Sequential"):
        keras_to_torch(functional, (4,))


def test_chained_keras_model_reaches_a_torch_stage_and_back():
    """A Keras model handed on is given to a torch stage through the reverse port and to a Keras stage as a copy."""
    from methods.chain import ChainedModel

    reference = _reference()
    keras_model = reference.keras()
    kernel = keras_model.layers[1].get_weights()
    kernel[0][:, :5] = 0.0  # the first Dense (after Flatten): zero five output neurons' weights
    keras_model.layers[1].set_weights(kernel)
    view = ChainedModel(reference, keras_model, "test")
    assert view.framework == "keras" and reference.framework == "torch"
    torch_net = view.torch()
    assert np.count_nonzero(torch_net[1].weight.detach().numpy()[:5, :]) == 0
    copy = view.keras()
    copy.layers[1].set_weights([np.ones_like(w) for w in copy.layers[1].get_weights()])
    assert np.count_nonzero(keras_model.layers[1].get_weights()[0][:, :5]) == 0  # the handed-on model is untouched


# -- refusing impossible chains before anything runs -----------------------------------------------------------
@pytest.mark.parametrize("track, spec, words", [
    ("digits-mlp", "tflite-int8+torch-magnitude", ["stage 1 'tflite-int8' leaves no float model",
                                                   "stage 2 'torch-magnitude'", "only be the last stage"]),
    ("digits-mlp", "torch-magnitude+ort-int8-static+fp32", ["stage 2 'ort-int8-static' leaves no float model",
                                                             "stage 3 'fp32'"]),
    ("cifar10-resnet8", "tfmot-prune+torch-kmeans", ["stage 1 'tfmot-prune' hands on a float Keras model",
                                                     "stage 2 'torch-kmeans' starts from a PyTorch model",
                                                     "no keras->torch port"]),
    ("speed-resnet50", "torch-kmeans+tfmot-cluster", ["stage 1 'torch-kmeans' hands on a float PyTorch model",
                                                      "stage 2 'tfmot-cluster' starts from a Keras model",
                                                      "no tf-keras port"]),
])
def test_impossible_chain_names_both_stages_and_why(track, spec, words):
    from methods.chain import handoff_refusal
    from methods.resolve import load_method_class
    from suite.tracks import get_track

    names = spec.split("+")
    refusal = handoff_refusal(names, [load_method_class(n) for n in names], get_track(track))
    assert refusal is not None
    for word in words:
        assert word in refusal


@pytest.mark.parametrize("track, spec", [
    ("mnist-lenet5", "tfmot-prune+tflite-int8"), ("mnist-lenet5", "tfmot-cluster+tflite-int8"),
    ("mnist-lenet5", "tfmot-prune+torch-kmeans+ort-int8-static"), ("mnist-lenet5", "torch-magnitude+tfmot-cluster"),
    ("cifar10-resnet8", "torch-magnitude+tfmot-cluster+tflite-int8"),
    ("speed-resnet50", "torch-kmeans+tflite-int8"),  # litert-torch converts the PyTorch model
])
def test_possible_chains_pass_the_check(track, spec):
    from methods.chain import handoff_refusal
    from methods.resolve import load_method_class
    from suite.tracks import get_track

    names = spec.split("+")
    assert handoff_refusal(names, [load_method_class(n) for n in names], get_track(track)) is None


def test_harness_refuses_before_any_stage_runs_and_records_nothing(quick_session, monkeypatch):
    from methods.pruning.magnitude import TorchMagnitude
    from methods.quantization.tflite import TfliteInt8
    from suite.harness import RunSpec

    def must_not_run(self, model, context):
        raise AssertionError(f"{self.name} ran although the chain is impossible")
    monkeypatch.setattr(TfliteInt8, "apply", must_not_run)
    monkeypatch.setattr(TorchMagnitude, "apply", must_not_run)
    with pytest.raises(ConfigError, match="stage 1 'tflite-int8' leaves no float model.*stage 2 'torch-magnitude'"):
        quick_session.run(RunSpec("digits-mlp", "tflite-int8+torch-magnitude", "edge"))
    assert not list(quick_session.store.root.glob("*.json"))


def test_cli_refuses_an_impossible_chain(tmp_path):
    """What a researcher sees: exit status 2-ish, the reason on stderr, no record written."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    store = tmp_path / "store"
    proc = subprocess.run([sys.executable, "-m", "suite.cli", "run", "--track", "digits-mlp", "--method",
                           "ort-int8-static+torch-magnitude", "--target", "cpu", "--store", str(store), "--quick"],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert proc.returncode != 0
    assert "stage 1 'ort-int8-static' leaves no float model" in proc.stderr
    assert not list(store.glob("*.json")) if store.exists() else True


# -- hand-over through real stages -------------------------------------------------------------------------------
def test_tfmot_prune_hands_its_keras_model_to_tflite_int8(quick_session):
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "tfmot-prune+tflite-int8", "edge",
                                       params={"tfmot-prune.sparsity": "0.8"}))
    assert record["status"] == "ok", record.get("error")
    info = record["results"]["method_info"]
    first, last = info["chain"]
    assert first["method"] == "tfmot-prune" and first["hands_on"] == "keras"
    assert info["sparsity"] == pytest.approx(0.8, abs=1e-3)           # carried up from stage 1
    assert info["weight_dtypes"] == ["int8"] and info["input_dtype"] == "int8"  # read back from the flatbuffer
    # int8 *and* 80% zeros: gzip shrinks it far below the fp32 flatbuffer
    assert record["results"]["size"]["gzip_compression_ratio"] > 5
    assert record["results"]["accuracy"] > 0.9


def test_keras_stage_feeds_a_torch_stage(quick_session):
    """tfmot-prune (Keras) -> torch-kmeans (PyTorch, via the reverse port) -> ort-int8-static (ONNX)."""
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "tfmot-prune+torch-kmeans+ort-int8-static", "cpu",
                                       params={"tfmot-prune.sparsity": "0.8"}))
    assert record["status"] == "ok", record.get("error")
    prune, kmeans, _ = record["results"]["method_info"]["chain"]
    assert (prune["hands_on"], kmeans["hands_on"]) == ("keras", "torch")
    assert kmeans["info"]["sparsity"] == pytest.approx(prune["info"]["sparsity"], abs=1e-6)  # zeros survive
    assert kmeans["info"]["max_distinct_values_per_layer"] <= 16


# -- one budget for the whole chain ------------------------------------------------------------------------------
def test_budget_is_shared_between_fine_tuning_stages():
    from methods.chain import stage_budgets
    from methods.resolve import resolve_method
    from suite.tracks import get_track

    budget = get_track("digits-mlp").budget  # 5 fine-tuning epochs
    chain = resolve_method("torch-magnitude+torch-kmeans+tflite-int8")
    budgets, shares = stage_budgets(budget, chain.stages)
    assert [b.finetune_epochs for b in budgets] == [3, 2, 0]
    assert shares[2] is None and not shares[0]["explicit"]
    assert all(b.calibration_samples == budget.calibration_samples for b in budgets)
    explicit = resolve_method("torch-magnitude+torch-kmeans+tflite-int8", {"torch-magnitude.epochs": "4"})
    budgets, shares = stage_budgets(budget, explicit.stages)
    assert [b.finetune_epochs for b in budgets] == [4, 1, 0] and shares[0]["explicit"]


def test_over_budget_chain_says_so_at_the_record_top_level(quick_session):
    from suite.harness import RunSpec

    within = quick_session.run(RunSpec("digits-mlp", "torch-magnitude+torch-kmeans", "cpu",
                                       params={"sparsity": "0.5", "schedule": "oneshot"}))
    assert within["status"] == "ok", within.get("error")
    assert "over_budget" not in within
    assert within["results"]["method_info"]["chain_budget"]["finetune_epochs_spent"] == 5
    over = quick_session.run(RunSpec("digits-mlp", "torch-magnitude+torch-kmeans", "cpu",
                                     params={"sparsity": "0.5", "schedule": "oneshot", "torch-magnitude.epochs": "4",
                                             "torch-kmeans.epochs": "3"}))
    assert over["status"] == "ok", over.get("error")
    assert "7 epochs in all, above the track budget of 5" in over["over_budget"]["reason"]
    from suite.records.store import validate
    validate(over)  # the schema knows the field (the store validated it on writing, too)


def test_the_documented_keras_example_hands_its_model_on(method_context, tmp_path):
    """docs/submitting.md's Keras method, run as written, chained before tflite-int8 (in-process here)."""
    import re

    from methods.resolve import resolve_method
    from tests.conftest import REPO

    text = (REPO / "docs" / "submitting.md").read_text()
    [block] = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "class KerasFinetune" in b]
    path = tmp_path / "keras_finetune.py"
    path.write_text(block)
    _, ctx = method_context("digits-mlp", formats=("tflite",))
    chain = resolve_method(f"{path}:KerasFinetune+tflite-int8", {"lr": "1e-4"})
    [artifact] = chain.apply(_reference(), ctx)
    first, _ = artifact.info["chain"]
    assert first["hands_on"] == "keras" and first["budget"]["finetune_epochs"] == 5
    assert artifact.info["weight_dtypes"] == ["int8"]
