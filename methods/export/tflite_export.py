"""tf-keras -> TFLite flatbuffer with the converter's own optimisation options."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from suite.lazy import require


def keras_to_tflite(keras_model, path: Path, *, optimize: bool = False,
                    representative: Callable[[], Iterable] | None = None,
                    int8_io: bool = False, float16: bool = False, builtin_int8_only: bool = False) -> Path:
    tf = require("tensorflow", "tf")
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if optimize or representative is not None or float16:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if representative is not None:
        converter.representative_dataset = representative
    if builtin_int8_only:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    if float16:
        converter.target_spec.supported_types = [tf.float16]
    Path(path).write_bytes(converter.convert())
    return Path(path)


def to_nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x
