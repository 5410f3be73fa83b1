"""PyTorch -> LiteRT (TFLite flatbuffer) with Google's litert-torch, for architectures without a tf-keras port
(the speed tracks' torchvision / transformers models), and its quantization paths:

- `static_int8`: PT2E (torch.export + torchao's prepare/convert with litert-torch's PT2EQuantizer: symmetric,
  per-channel int8 weights, int8 activations calibrated on the calibration inputs), lowered by litert-torch;
- `dynamic_int8` / `fp16_weights`: ai-edge-quantizer recipes applied to the fp32 flatbuffer (int8 weights with
  on-the-fly activation quantization; float16 weights).

litert-torch keeps PyTorch's input layout (NCHW images, token ids) and transposes inside the graph."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from suite.lazy import require


# Converted at batch 1. A dynamic batch dimension (torch.export Dim) does not lower in litert-torch 0.10.0: its
# JAX lowering of aten._unsafe_view needs concrete shapes ("Shapes must be 1D sequences of concrete values").
# Graphs whose reshapes do not name the batch (the CNNs) still resize to batch 64 in the interpreter; those that
# do (BERT's attention) run batch 64 as batch-1 invocations (suite.targets.edge.LiteRTRunner says which).


def _sample(input_shape: tuple[int, ...], input_dtype: str):
    import torch

    if input_dtype == "float32":
        return (torch.zeros((1, *input_shape), dtype=torch.float32),)
    return (torch.ones((1, *input_shape), dtype=getattr(torch, input_dtype)),)


def _convert():
    # litert-torch imports torchvision/transformers when present: declare torchvision's missing ops first.
    from suite.tracks.definitions import _declare_missing_ops
    _declare_missing_ops()
    return require("litert_torch", "speed")


def torch_to_tflite(model, input_shape: tuple[int, ...], path: Path, input_dtype: str = "float32") -> Path:
    """fp32 flatbuffer of `model`, traced at batch 1."""
    litert_torch = _convert()
    edge_model = litert_torch.convert(model.eval(), _sample(input_shape, input_dtype))
    edge_model.export(str(path))
    return Path(path)


def torch_to_tflite_static_int8(model, input_shape: tuple[int, ...], path: Path,
                                calibration: Iterable[np.ndarray], input_dtype: str = "float32") -> Path:
    """Full-integer PT2E post-training quantization, calibrated on `calibration` (batches in torch layout)."""
    import torch

    litert_torch = _convert()
    from litert_torch.quantize import pt2e_quantizer
    from litert_torch.quantize.quant_config import QuantConfig
    quantize_pt2e = require("torchao.quantization.pt2e.quantize_pt2e", "speed")

    sample = _sample(input_shape, input_dtype)
    quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False))
    exported = torch.export.export(model.eval(), sample).module()
    prepared = quantize_pt2e.prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        for batch in calibration:
            for i in range(len(batch)):  # batch 1: the shape the graph was exported with
                prepared(torch.from_numpy(np.ascontiguousarray(batch[i:i + 1])))
    converted = quantize_pt2e.convert_pt2e(prepared, fold_quantize=False)
    edge_model = litert_torch.convert(converted, sample, quant_config=QuantConfig(pt2e_quantizer=quantizer))
    edge_model.export(str(path))
    return Path(path)


def quantize_tflite(float_path: Path, path: Path, scheme: str) -> Path:
    """ai-edge-quantizer on an fp32 flatbuffer: scheme "dynamic_int8" (int8 channel-wise weights, activations
    quantized at run time) or "fp16_weights" (float16 weights, float compute)."""
    _convert()
    quantizer = require("ai_edge_quantizer.quantizer", "speed")
    recipe = require("ai_edge_quantizer.recipe", "speed")
    if scheme == "dynamic_int8":
        chosen = recipe.dynamic_wi8_afp32()
    elif scheme == "fp16_weights":
        recipe_manager = require("ai_edge_quantizer.recipe_manager", "speed")
        qtyping = require("ai_edge_quantizer.qtyping", "speed")
        from ai_edge_quantizer.algorithm_manager import AlgorithmName
        manager = recipe_manager.RecipeManager()
        manager.add_weight_only_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                       num_bits=16, algorithm_key=AlgorithmName.FLOAT_CASTING)
        chosen = manager.get_quantization_recipe()
    else:
        raise ValueError(f"unknown ai-edge-quantizer scheme {scheme!r}")
    q = quantizer.Quantizer(str(float_path), chosen)
    q.quantize().export_model(str(path), overwrite=True)
    return Path(path)
