"""`gpu`: ONNX Runtime with the TensorRT (preferred) or CUDA execution provider.

Skips cleanly (TargetUnavailableError with the reason) on machines without a GPU build / GPU."""
from __future__ import annotations

from suite.lazy import require
from suite.targets import TARGETS
from suite.targets.base import Target
from suite.targets.cpu import OrtRunner

_GPU_PROVIDERS = ["TensorrtExecutionProvider", "CUDAExecutionProvider"]


@TARGETS.register
class GpuTarget(Target):
    name = "gpu"
    description = ("ONNX Runtime TensorRT / CUDA execution provider, 1 CPU intra-op thread (needs onnxruntime-gpu "
                   "and an NVIDIA GPU)")
    intra_op_threads = 1
    runtime = "onnxruntime-gpu"
    formats = ("onnx",)

    def providers(self) -> list[str]:
        try:
            ort = require("onnxruntime", "torch")
        except ImportError:
            return []
        available = ort.get_available_providers()
        return [p for p in _GPU_PROVIDERS if p in available]

    def unavailable_reason(self):
        from suite.records.provenance import gpu_info
        if not self.providers():
            return ("no GPU execution provider in this onnxruntime build "
                    "(install onnxruntime-gpu, and TensorRT for the TensorRT provider)")
        if gpu_info() is None:
            return "no NVIDIA GPU visible (nvidia-smi found none)"
        return None

    def _load(self, artifact):
        return OrtRunner(artifact.path, self.providers() + ["CPUExecutionProvider"], self.thread_count(),
                         artifact.input_dtype)

    def runtime_version(self):
        return require("onnxruntime", "torch").__version__
