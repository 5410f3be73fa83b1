"""`cpu-torch`: PyTorch on CPU, for artifacts that only exist natively (TorchScript, incl. int8 x86 modules)."""
from __future__ import annotations

import numpy as np

from suite.lazy import require
from suite.targets import TARGETS
from suite.targets.base import Runner, Target


class TorchScriptRunner(Runner):
    def __init__(self, path, threads: int):
        self.torch = require("torch", "torch")
        self.torch.set_num_threads(threads)
        self.module = self.torch.jit.load(str(path), map_location="cpu").eval()
        self.threads = {"intra_op": threads, "quantized_engine": self.torch.backends.quantized.engine,
                        "kernels": f"ATen CPU capability {self.torch.backends.cpu.get_cpu_capability()}"}

    def predict(self, x: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.module(self.torch.from_numpy(x)).numpy()


@TARGETS.register
class CpuTorchTarget(Target):
    name = "cpu-torch"
    description = "PyTorch eager/TorchScript on CPU, intra-op threads = all cores (native PyTorch artifacts)"
    runtime = "torch"
    formats = ("torchscript",)

    def unavailable_reason(self):
        try:
            require("torch", "torch")
        except ImportError as exc:
            return str(exc)
        return None

    def _load(self, artifact):
        return TorchScriptRunner(artifact.path, self.thread_count())

    def runtime_version(self):
        return require("torch", "torch").__version__
