"""`cpu`: ONNX Runtime, CPU execution provider, intra-op threads = all cores of the machine."""
from __future__ import annotations

import numpy as np

from suite.lazy import require
from suite.targets import TARGETS
from suite.targets.base import Runner, Target, machine_threads


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
        self.threads = {"intra_op": intra_threads, "inter_op": 1, "providers": self.session.get_providers()}

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
        return OrtRunner(artifact.path, ["CPUExecutionProvider"], machine_threads(), artifact.input_dtype)

    def runtime_version(self):
        return require("onnxruntime", "torch").__version__
