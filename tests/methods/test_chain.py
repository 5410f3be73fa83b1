"""Method chains (a+b) on digits-mlp: param routing, hand-over of the model between stages, records."""
from __future__ import annotations

import numpy as np
import pytest

from suite.errors import ConfigError, SlimBenchError


def _reference(track_name="digits-mlp"):
    from suite.tracks import get_track
    from suite.tracks.base import ReferenceModel
    return ReferenceModel(get_track(track_name))


def test_params_route_by_name_position_or_unique_field():
    from methods.resolve import resolve_method

    chain = resolve_method("torch-magnitude+torch-channel",
                                  {"torch-magnitude.sparsity": "0.7", "2.ratio": "0.25", "schedule": "oneshot",
                                   "torch-channel.epochs": "1"})
    magnitude, channel = chain.stages
    assert magnitude.config.sparsity == 0.7 and magnitude.config.schedule == "oneshot"
    assert channel.config.ratio == 0.25 and channel.config.epochs == 1
    params = chain.params()
    assert params["torch-magnitude.sparsity"] == 0.7 and params["torch-channel.ratio"] == 0.25


@pytest.mark.parametrize("spec, params, message", [
    ("torch-magnitude+torch-channel", {"epochs": "1"}, "ambiguous"),
    ("torch-magnitude+fp32", {"bits": "4"}, "matches no stage"),
    ("torch-magnitude+", {}, "two or more non-empty stages"),
    ("torch-magnitude+torch-magnitude", {"torch-magnitude.sparsity": "0.5"}, "appears more than once"),
    ("torch-magnitude+fp32", {"torch-magnitude.sparsity": "2"}, "chain stage 'torch-magnitude'"),
])
def test_chain_config_errors_name_the_problem(spec, params, message):
    from methods.resolve import resolve_method

    with pytest.raises(ConfigError, match=message):
        resolve_method(spec, params)


def test_unknown_stage_lists_methods():
    from methods.resolve import resolve_method
    from suite.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="unknown method 'no-such-method'"):
        resolve_method("torch-magnitude+no-such-method")


def test_same_method_twice_by_position():
    from methods.resolve import resolve_method

    chain = resolve_method("torch-magnitude+torch-magnitude", {"1.sparsity": "0.5", "2.sparsity": "0.8"})
    assert [s.config.sparsity for s in chain.stages] == [0.5, 0.8]
    assert chain.params()["2.sparsity"] == 0.8


def test_pruned_model_reaches_the_next_stage(method_context):
    """magnitude -> fp32: the last stage exports the pruned weights unchanged."""
    from methods.resolve import resolve_method

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    chain = resolve_method("torch-magnitude+fp32", {"sparsity": "0.8", "schedule": "oneshot", "epochs": "1"})
    [artifact] = chain.apply(_reference(), ctx)
    weights = 64 * 128 + 128 * 64 + 64 * 10
    biases = 128 + 64 + 10
    assert artifact.params == weights + biases
    assert artifact.nonzero_params <= round(0.2 * weights) + biases
    info = artifact.info
    assert [s["method"] for s in info["chain"]] == ["torch-magnitude", "fp32"]
    assert info["chain"][0]["info"]["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert info["sparsity"] == pytest.approx(0.8, abs=1e-3)  # carried up from stage 1
    assert info["weight_bits"] == 32                         # the last stage's own facts stay
    assert (ctx.workdir / "stage1" / "torch-magnitude.onnx").exists()


def test_structured_after_unstructured(method_context):
    from methods.resolve import resolve_method

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    [artifact] = resolve_method("torch-magnitude+torch-channel",
                                       {"sparsity": "0.5", "schedule": "oneshot", "torch-magnitude.epochs": "0",
                                        "torch-channel.epochs": "1"}).apply(_reference(), ctx)
    assert artifact.info["layers"]["fc1"]["channels_after"] == 64
    assert artifact.params == 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10


def test_chained_model_keras_has_the_pruned_weights():
    import torch

    from methods.chain import ChainedModel

    reference = _reference()
    net = reference.torch()
    with torch.no_grad():
        net[1].weight[:, :32] = 0
    view = ChainedModel(reference, net, "test")
    kernel = view.keras().layers[1].get_weights()[0]  # Dense kernel (in, out)
    assert np.count_nonzero(kernel[:32, :]) == 0
    assert view.torch() is not view.torch() and view.input_shape == (64,)


def test_a_stage_without_a_model_cannot_hand_over(method_context):
    from methods.base import Method
    from methods.baseline import Fp32
    from methods.chain import ChainMethod
    from suite.artifacts import ExportedArtifact

    ran = []

    class OpaqueMethod(Method):
        name, family, framework, description, formats = "opaque", "pruning", "x", "x", ("onnx",)

        def apply(self, model, context):
            ran.append(self.name)
            path = context.workdir / "opaque.onnx"
            path.write_bytes(b"not really")
            return ExportedArtifact("onnx", path, "flat", 1, 1)

    class ClaimsATorchModel(OpaqueMethod):
        hands_on = ("torch",)  # declares a hand-over it does not make

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    # declared (a framework with no float model to hand on): refused before the stage runs
    with pytest.raises(ConfigError, match="stage 1 'opaque' leaves no float model.*stage 2 'fp32'"):
        ChainMethod(["opaque", "fp32"], [OpaqueMethod(), Fp32()]).apply(_reference(), ctx)
    assert ran == []
    # a declaration the stage does not keep: caught once it has run
    with pytest.raises(SlimBenchError, match="chain stage 'opaque' left no float model for the next stage 'fp32'"):
        ChainMethod(["opaque", "fp32"], [ClaimsATorchModel(), Fp32()]).apply(_reference(), ctx)


def test_last_stage_format_is_checked_before_anything_runs(method_context):
    from methods.chain import ChainMethod
    from methods.pruning.tfmot_prune import TfmotPrune

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    chain = ChainMethod(["fp32", "tfmot-prune"], [None, TfmotPrune()])  # stage 1 would crash if it ran
    with pytest.raises(ConfigError, match="last stage 'tfmot-prune' produces tflite"):
        chain.apply(_reference(), ctx)


def test_chain_through_harness(quick_session):
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "torch-magnitude+fp32", "cpu",
                                       params={"torch-magnitude.sparsity": "0.8", "torch-magnitude.epochs": "1"}))
    assert record["status"] == "ok", record.get("error")
    assert record["config"]["method_family"] == "combined"
    assert record["config"]["method_params"]["torch-magnitude.sparsity"] == 0.8
    assert record["results"]["size"]["gzip_compression_ratio"] > 2
    assert "--param torch-magnitude.sparsity=0.8" in record["config"]["command"]


def test_prune_then_quantize_through_harness(quick_session):
    from methods import METHODS
    from suite.harness import RunSpec

    if "ort-int8-static" not in METHODS:
        pytest.skip("ort-int8-static (methods/quantization) is not available")
    record = quick_session.run(RunSpec("digits-mlp", "torch-magnitude+ort-int8-static", "cpu",
                                       params={"torch-magnitude.sparsity": "0.8", "torch-magnitude.epochs": "1"}))
    assert record["status"] == "ok", record.get("error")
    info = record["results"]["method_info"]
    assert info["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert [s["method"] for s in info["chain"]] == ["torch-magnitude", "ort-int8-static"]
    # int8 weights *and* pruned: smaller than the fp32 artifact both raw and gzipped
    assert record["results"]["size"]["compression_ratio"] > 2
    assert record["results"]["size"]["gzip_compression_ratio"] > 4
