"""`edge`: LiteRT (TFLite) interpreter with the XNNPACK delegate, 1 thread: the phone-CPU proxy.

Imports only ai_edge_litert (no TensorFlow)."""
from __future__ import annotations

import numpy as np

from suite.lazy import require
from suite.targets import TARGETS
from suite.targets.base import Runner, Target


class LiteRTRunner(Runner):
    def __init__(self, path, threads: int = 1):
        self._module = require("ai_edge_litert.interpreter", "tf")
        self.path, self.num_threads = str(path), threads
        self._by_batch: dict[int, tuple] = {}
        self.threads = {"num_threads": threads, "delegate": "XNNPACK (LiteRT default op resolver)"}
        self._get(1)

    def _get(self, batch: int):
        entry = self._by_batch.get(batch)
        if entry is None:
            # The default op resolver applies XNNPACK to every op it supports (float, fp16 and int8).
            interpreter = self._module.Interpreter(model_path=self.path, num_threads=self.num_threads)
            inp = interpreter.get_input_details()[0]
            if inp["shape"][0] != batch:
                interpreter.resize_tensor_input(inp["index"], [batch, *inp["shape"][1:]])
            interpreter.allocate_tensors()
            inp = interpreter.get_input_details()[0]
            out = interpreter.get_output_details()[0]
            entry = (interpreter, inp, out)
            self._by_batch[batch] = entry
        return entry

    def predict(self, x: np.ndarray) -> np.ndarray:
        interpreter, inp, out = self._get(len(x))
        if inp["dtype"] in (np.int8, np.uint8):
            scale, zero = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            x = np.clip(np.round(x / scale) + zero, info.min, info.max).astype(inp["dtype"])
        elif x.dtype != inp["dtype"]:
            x = x.astype(inp["dtype"])
        interpreter.set_tensor(inp["index"], x)
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])
        if out["dtype"] in (np.int8, np.uint8):
            scale, zero = out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return y


@TARGETS.register
class EdgeTarget(Target):
    name = "edge"
    description = "LiteRT/TFLite interpreter + XNNPACK, 1 thread (phone-CPU proxy)"
    runtime = "ai-edge-litert"
    formats = ("tflite",)

    def unavailable_reason(self):
        try:
            require("ai_edge_litert.interpreter", "tf")
        except ImportError as exc:
            return str(exc)
        return None

    def _load(self, artifact):
        return LiteRTRunner(artifact.path, threads=1)

    def runtime_version(self):
        from importlib.metadata import version
        return version("ai-edge-litert")
