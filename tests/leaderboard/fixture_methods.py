"""Small but real methods, loaded as submitter files (`path/to/fixture_methods.py:Class`), so the
leaderboard tests run on genuine harness records with more than the fp32 baseline in them.

They are test fixtures, not suite methods: names start with `fixture-`, and none is registered."""
from __future__ import annotations

from dataclasses import dataclass

from methods.base import Method
from suite.artifacts import ExportedArtifact
from suite.errors import ConfigError


@dataclass(frozen=True)
class PruneConfig:
    sparsity: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.sparsity < 1.0:
            raise ConfigError(f"fixture-magnitude.sparsity={self.sparsity} must be in [0, 1)")


class FixtureMagnitudePrune(Method):
    """Zero the smallest-magnitude weights of every Linear/Conv layer (no fine-tuning)."""
    name = "fixture-magnitude"
    family = "pruning"
    framework = "torch"
    description = "test fixture: one-shot per-layer magnitude pruning, no fine-tuning"
    formats = ("onnx", "tflite", "torchscript")
    Config = PruneConfig

    def apply(self, model, context):
        import torch

        net = model.torch()
        total = nonzero = 0
        with torch.no_grad():
            for module in net.modules():
                weight = getattr(module, "weight", None)
                if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)) and weight is not None:
                    k = int(weight.numel() * self.config.sparsity)
                    if k:
                        threshold = weight.abs().flatten().kthvalue(k).values
                        weight.mul_((weight.abs() > threshold).to(weight.dtype))
            for param in net.parameters():
                total += param.numel()
                nonzero += int((param != 0).sum())
        return context.export_torch(net, "magnitude", info={"sparsity": self.config.sparsity},
                                    params=(total, nonzero))


class FixtureOrtDynamicInt8(Method):
    """ONNX Runtime dynamic int8 quantization of the fp32 ONNX export (int8 MatMul kernels)."""
    name = "fixture-ort-dynamic-int8"
    family = "quantization"
    framework = "onnxruntime"
    description = "test fixture: onnxruntime quantize_dynamic (int8 weights, dynamic activations)"
    formats = ("onnx",)

    def apply(self, model, context):
        from onnxruntime.quantization import QuantType, quantize_dynamic

        (fp32,) = context.export_torch(model.torch(), "fp32-src")
        out = context.workdir / "dynamic-int8.onnx"
        quantize_dynamic(str(fp32.path), str(out), weight_type=QuantType.QInt8)
        return ExportedArtifact("onnx", out, input_layout=fp32.input_layout, params=fp32.params,
                                nonzero_params=fp32.nonzero_params, framework="onnxruntime",
                                info={"weight_bits": 8, "activation_bits": "dynamic int8"})


class FixtureAlwaysFails(Method):
    """Fails on purpose, so the store holds a genuine failed record."""
    name = "fixture-always-fails"
    family = "quantization"
    framework = "torch"
    description = "test fixture: raises inside apply()"
    formats = ("onnx", "tflite", "torchscript")

    def apply(self, model, context):
        raise RuntimeError("fixture: deliberate failure inside apply()")
