"""PyTorch -> ONNX (TorchScript-based exporter: deterministic graphs for small CNN/MLPs, dynamic batch)."""
from __future__ import annotations

import warnings
from pathlib import Path

OPSET = 17


def export_onnx(model, input_shape: tuple[int, ...], path: Path, opset: int = OPSET) -> Path:
    import torch

    model = model.eval()
    example = torch.zeros((1, *input_shape), dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-exporter deprecation notice
        torch.onnx.export(model, (example,), str(path), dynamo=False, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return Path(path)
