"""`fp32`: the identity method. Every track x target gets this baseline; speedups are ratios against it."""
from __future__ import annotations

from methods import METHODS
from methods.base import Method


@METHODS.register
class Fp32(Method):
    name = "fp32"
    family = "baseline"
    framework = "torch"
    description = "Reference model unchanged, exported in fp32 (the baseline every speedup is measured against)"
    formats = ("onnx", "tflite", "torchscript")
    in_default_suite = True

    def apply(self, model, context):
        return context.export_torch(model.torch(), "fp32", info={"weight_bits": 32, "activation_bits": 32})
