"""Helpers shared by the quantization adapters: config checks, calibration batches, the facts every
artifact's `info` carries, and the float parameter count (params are counted on the float model that
was quantized: same architecture, same number of weights)."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from methods.base import check_choice
from suite.errors import ConfigError

INT8_ONLY = (8,)


def check_bits(value: int, where: str, supported: tuple[int, ...] = INT8_ONLY) -> None:
    """bits=4, bits=3 ... are not what these runtimes' int8 kernels run: say so instead of faking it."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    check_choice(value, supported, where)


def check_positive(value, where: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{where} must be a positive number, got {value!r}")


def calibration_batches(x: np.ndarray, batch_size: int = 32) -> Iterator[np.ndarray]:
    """The calibration split (already cut to the budget) in fixed-order batches: float32 features/images,
    or the integer token ids a text track feeds (kept as they are)."""
    x = np.ascontiguousarray(x, dtype=x.dtype if np.issubdtype(x.dtype, np.integer) else np.float32)
    for i in range(0, len(x), batch_size):
        yield x[i:i + batch_size]


def quant_info(*, weight_bits: int, activation_bits: int | None, granularity: str, scheme: str,
               calibration_samples: int | None = None, calibration_method: str | None = None,
               **extra: Any) -> dict[str, Any]:
    """The facts every quantized artifact records (activation_bits=None: activations stay float)."""
    info = {"weight_bits": weight_bits, "activation_bits": activation_bits if activation_bits is not None else 32,
            "granularity": granularity, "scheme": scheme,
            "calibration_samples": calibration_samples, "calibration_method": calibration_method}
    info.update(extra)
    return info


def float_params(model) -> tuple[int, int]:
    from suite.tracks.torch_models import count_params
    return count_params(model)


def finetune_epochs(requested: int | None, context, method: str) -> int:
    """Epochs of fine-tuning this run may spend: the request, capped by the track's budget."""
    budget = int(context.budget.finetune_epochs)
    if requested is None:
        return budget
    if requested > budget:
        raise ConfigError(f"{method}: epochs={requested} exceeds the {context.track} budget of "
                          f"{budget} fine-tune epoch(s)")
    return requested


def require_float_input(context, method: str) -> None:
    """These adapters quantize image/feature models fed float32; a token-id track needs its own recipe."""
    dtype = getattr(context, "input_dtype", "float32")
    if dtype != "float32":
        from suite.errors import SlimBenchError
        raise SlimBenchError(f"{method} quantizes models with float32 inputs; track {context.track!r} feeds "
                             f"{dtype} (token ids), which this adapter does not support")
