"""Export one float tf-keras model to every format the requested targets run (the Keras twin of
`methods.export.common.export_torch_model`): TFLite by the TF converter, ONNX / TorchScript through the reverse
port to PyTorch (`suite.tracks.keras_port.keras_to_torch`, the same weights in the reference layout)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from suite.artifacts import ExportedArtifact, input_layout


def keras_params(keras_model) -> tuple[int, int]:
    """(parameters, non-zero parameters) of a tf-keras model, counted from its weights."""
    weights = keras_model.get_weights()
    return int(sum(w.size for w in weights)), int(sum(np.count_nonzero(w) for w in weights))


def export_keras_model(keras_model, input_shape: tuple[int, ...], formats: tuple[str, ...], workdir: Path,
                       stem: str, info: dict[str, Any] | None = None, params: tuple[int, int] | None = None,
                       input_dtype: str = "float32") -> list[ExportedArtifact]:
    from methods.export.tflite_export import keras_to_tflite

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    total, nonzero = params or keras_params(keras_model)
    artifacts = []
    if "tflite" in formats:
        path = keras_to_tflite(keras_model, workdir / f"{stem}.tflite")
        artifacts.append(ExportedArtifact("tflite", path, input_layout=input_layout(input_shape, channels_last=True),
                                          params=total, nonzero_params=nonzero, framework="tensorflow",
                                          info=dict(info or {}), input_dtype=input_dtype))
    others = tuple(f for f in formats if f in ("onnx", "torchscript"))
    if others:
        from methods.export.common import export_torch_model
        from suite.tracks.keras_port import keras_to_torch

        try:
            torch_model = keras_to_torch(keras_model, input_shape)
        except ValueError as exc:
            from suite.errors import ArtifactFormatError
            raise ArtifactFormatError(f"cannot export this Keras model to {', '.join(others)}: {exc}") from None
        for artifact in export_torch_model(torch_model, input_shape, others, workdir, stem,
                                           {**dict(info or {}), "ported_from": "tf-keras (reverse keras->torch port)"},
                                           (total, nonzero), input_dtype=input_dtype):
            artifacts.append(artifact)
    return artifacts
