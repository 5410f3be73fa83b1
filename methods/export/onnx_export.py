"""PyTorch -> ONNX (TorchScript-based exporter: deterministic graphs for small CNN/MLPs, dynamic batch)."""
from __future__ import annotations

import warnings
from pathlib import Path

OPSET = 17


def export_onnx(model, input_shape: tuple[int, ...], path: Path, opset: int = OPSET,
                input_dtype: str | None = None) -> Path:
    """input_dtype: of the traced example input; default: the model's `input_dtype` attribute, else float32."""
    import torch

    model = model.eval()
    dtype = getattr(torch, input_dtype or getattr(model, "input_dtype", "float32"))
    example = torch.zeros((1, *input_shape), dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-exporter deprecation notice
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return Path(path)
