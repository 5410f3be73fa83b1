"""`cpu`: ONNX Runtime, CPU execution provider, intra-op threads = all cores of the machine;
`cpu-1t`: the same runtime with 1 intra-op thread (single-core figures without changing `cpu`)."""
from __future__ import annotations

import numpy as np

from suite.lazy import require
from suite.targets import TARGETS
from suite.targets.base import Runner, Target


class OrtRunner(Runner):
    def __init__(self, path, providers: list[str], intra_threads: int, input_dtype: str):
        ort = require("onnxruntime", "torch")
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [self.session.get_outputs()[0].name]
        self.dtype = np.dtype(input_dtype)
        # MLAS picks its kernels (AVX2 / AVX-512 / VNNI / AMX paths) from cpuid at run time and does not report
        # which; the record's provenance.cpu.isa says which paths this CPU offers.
        self.threads = {"intra_op": intra_threads, "inter_op": 1, "providers": self.session.get_providers(),
                        "kernels": "MLAS (ONNX Runtime CPU EP; ISA path chosen from cpuid, not reported)"}

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(self.output_names, {self.input_name: x})[0]


@TARGETS.register
class CpuTarget(Target):
    name = "cpu"
    description = "ONNX Runtime CPU execution provider, intra-op threads = all cores"
    runtime = "onnxruntime"
    formats = ("onnx",)

    def unavailable_reason(self):
        try:
            require("onnxruntime", "torch")
        except ImportError as exc:
            return str(exc)
        return None

    def _load(self, artifact):
        return OrtRunner(artifact.path, ["CPUExecutionProvider"], self.thread_count(), artifact.input_dtype)

    def runtime_version(self):
        return require("onnxruntime", "torch").__version__


@TARGETS.register
class Cpu1tTarget(CpuTarget):
    name = "cpu-1t"
    description = "ONNX Runtime CPU execution provider, 1 intra-op thread (single-core figures)"
    intra_op_threads = 1
