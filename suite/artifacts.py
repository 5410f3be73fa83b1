"""ExportedArtifact: what a method hands to a target (a deployment-format file plus its facts)."""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Deployment formats and the targets that run them.
FORMATS = ("onnx", "tflite", "torchscript")


def input_layout(input_shape: tuple[int, ...], channels_last: bool = False) -> str:
    """How an artifact takes the track's input (ExportedArtifact.input_layout): images (C, H, W) as "NCHW"
    (PyTorch, ONNX) or "NHWC" (channels_last: Keras / TFLite ports), anything else (features, token ids)
    "flat". The one home of this rule: every exporter asks here."""
    if len(input_shape) != 3:
        return "flat"
    return "NHWC" if channels_last else "NCHW"


@dataclass
class ExportedArtifact:
    format: str                    # one of FORMATS
    path: Path
    input_layout: str              # "NCHW", "NHWC" or "flat": how the harness must feed the test split
    params: int                    # parameters of the compressed model (weights + biases)
    nonzero_params: int
    framework: str = ""            # the framework that produced it (torch, tensorflow, onnxruntime, ...)
    info: dict[str, Any] = field(default_factory=dict)  # method facts: bits, granularity, sparsity, ...
    input_dtype: str = "float32"   # dtype of the model input the harness feeds ("int64" for token ids)

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"unknown artifact format {self.format!r}; formats: {FORMATS}")
        self.path = Path(self.path)

    @property
    def bytes(self) -> int:
        return self.path.stat().st_size

    def gzip_bytes(self) -> int:
        # Deep-Compression-style "storage size": unstructured zeros compress, so pruning shows here.
        return len(gzip.compress(self.path.read_bytes(), compresslevel=9, mtime=0))

    def sha256(self) -> str:
        from suite.data.fetch import sha256_file
        return sha256_file(self.path)


def pick_artifact(artifacts: list[ExportedArtifact], formats: tuple[str, ...]) -> ExportedArtifact | None:
    """The first artifact whose format a target runs (targets list formats by preference)."""
    for fmt in formats:
        for artifact in artifacts:
            if artifact.format == fmt:
                return artifact
    return None
