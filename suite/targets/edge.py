"""`edge`: LiteRT (TFLite) interpreter with the XNNPACK delegate, 1 thread: the phone-CPU proxy.

Imports only ai_edge_litert (no TensorFlow)."""
from __future__ import annotations

import numpy as np

from suite.lazy import require
from suite.targets import TARGETS
from suite.targets.base import Runner, Target


class _Bound:
    """One interpreter allocated for one batch size, with its I/O facts resolved once (not per call)."""
    __slots__ = ("interpreter", "in_index", "out_index", "in_dtype", "in_quant", "out_quant")

    def __init__(self, interpreter):
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        self.interpreter, self.in_index, self.out_index = interpreter, inp["index"], out["index"]
        self.in_dtype = np.dtype(inp["dtype"])
        self.in_quant = None
        if self.in_dtype in (np.int8, np.uint8):
            info = np.iinfo(self.in_dtype)
            self.in_quant = (*inp["quantization"], info.min, info.max)
        self.out_quant = out["quantization"] if np.dtype(out["dtype"]) in (np.int8, np.uint8) else None


class LiteRTRunner(Runner):
    def __init__(self, path, threads: int = 1):
        self._module = require("ai_edge_litert.interpreter", "tf")
        self.path, self.num_threads = str(path), threads
        self._by_batch: dict[int, _Bound] = {}
        self.threads = {"num_threads": threads, "delegate": "XNNPACK (LiteRT default op resolver)"}
        self.fixed_batch: int | None = None  # set when the flatbuffer cannot be resized (shapes baked in)
        self._get(1)

    def _get(self, batch: int) -> _Bound | None:
        bound = self._by_batch.get(batch)
        if bound is None:
            if self.fixed_batch is not None and batch != self.fixed_batch:
                return None
            # The default op resolver applies XNNPACK to every op it supports (float, fp16 and int8).
            interpreter = self._module.Interpreter(model_path=self.path, num_threads=self.num_threads)
            inp = interpreter.get_input_details()[0]
            if inp["shape"][0] != batch:
                interpreter.resize_tensor_input(inp["index"], [batch, *inp["shape"][1:]])
            try:
                interpreter.allocate_tensors()
            except RuntimeError as exc:
                # A graph with the batch baked into a reshape (litert-torch's BERT) cannot take another batch:
                # run such batches as invocations of the converted batch size, and say so in the record.
                if inp["shape"][0] == batch or "failed to prepare" not in str(exc):
                    raise
                self.fixed_batch = int(inp["shape"][0])
                self.threads["batch_execution"] = (f"fixed-shape flatbuffer (batch {self.fixed_batch}): a batch of "
                                                   f"N runs as N/{self.fixed_batch} invocations")
                return None
            bound = self._by_batch[batch] = _Bound(interpreter)
        return bound

    def predict(self, x: np.ndarray) -> np.ndarray:
        b = self._get(len(x))
        if b is None:
            step = self.fixed_batch
            return np.concatenate([self.predict(x[i:i + step]) for i in range(0, len(x), step)])
        if b.in_quant is not None:  # int8-input models: quantize with the model's own input scale
            scale, zero, lo, hi = b.in_quant
            x = np.clip(np.round(x / scale) + zero, lo, hi).astype(b.in_dtype)
        elif x.dtype != b.in_dtype:
            x = x.astype(b.in_dtype)
        b.interpreter.set_tensor(b.in_index, x)
        b.interpreter.invoke()
        y = b.interpreter.get_tensor(b.out_index)
        if b.out_quant is not None:
            scale, zero = b.out_quant
            y = (y.astype(np.float32) - zero) * scale
        return y


@TARGETS.register
class EdgeTarget(Target):
    name = "edge"
    description = "LiteRT/TFLite interpreter + XNNPACK, 1 thread (phone-CPU proxy)"
    runtime = "ai-edge-litert"
    formats = ("tflite",)
    intra_op_threads = 1

    def unavailable_reason(self):
        try:
            require("ai_edge_litert.interpreter", "tf")
        except ImportError as exc:
            return str(exc)
        return None

    def _load(self, artifact):
        return LiteRTRunner(artifact.path, threads=self.thread_count())

    def runtime_version(self):
        from importlib.metadata import version
        return version("ai-edge-litert")
