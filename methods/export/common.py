"""Export one PyTorch model to every format the requested targets run."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from suite.artifacts import ExportedArtifact, input_layout
from suite.tracks.torch_models import count_params


def export_torch_model(model, input_shape: tuple[int, ...], formats: tuple[str, ...], workdir: Path,
                       stem: str, info: dict[str, Any] | None = None,
                       params: tuple[int, int] | None = None,
                       input_dtype: str = "float32", tflite_converter: str = "keras-port") -> list[ExportedArtifact]:
    """ONNX (cpu), TorchScript (cpu-torch) and TFLite (edge): via the tf-keras port of the same weights, or
    litert-torch for architectures without a port (tflite_converter="litert-torch").
    input_dtype: the model input's dtype (float32 images/features, int64 token ids)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    total, nonzero = params or count_params(model)
    layout = input_layout(input_shape)
    base = dict(params=total, nonzero_params=nonzero, info=dict(info or {}), input_dtype=input_dtype)
    artifacts = []
    if "onnx" in formats:
        from methods.export.onnx_export import export_onnx
        path = export_onnx(model, input_shape, workdir / f"{stem}.onnx", input_dtype=input_dtype)
        artifacts.append(ExportedArtifact("onnx", path, input_layout=layout, framework="torch", **base))
    if "torchscript" in formats:
        from methods.export.torchscript_export import export_torchscript
        path = export_torchscript(model, input_shape, workdir / f"{stem}.ts", input_dtype=input_dtype)
        artifacts.append(ExportedArtifact("torchscript", path, input_layout=layout, framework="torch", **base))
    if "tflite" in formats and tflite_converter == "litert-torch":
        from methods.export.litert_export import torch_to_tflite
        path = torch_to_tflite(model, input_shape, workdir / f"{stem}.tflite", input_dtype=input_dtype)
        artifacts.append(ExportedArtifact("tflite", path, input_layout=layout, framework="litert-torch",
                                          **{**base, "info": {**base["info"], "converter": "litert-torch"}}))
    elif "tflite" in formats:
        from methods.export.tflite_export import keras_to_tflite
        from suite.tracks.keras_port import torch_to_keras
        keras_model = torch_to_keras(model, input_shape)
        artifacts.append(ExportedArtifact("tflite", keras_to_tflite(keras_model, workdir / f"{stem}.tflite"),
                                          input_layout=input_layout(input_shape, channels_last=True), framework="tensorflow",
                                          **base))
    return artifacts
