"""NaN and infinity are refused in parameters, thresholds and measured results (records are strict JSON)."""
from __future__ import annotations

import math

import numpy as np

from suite.errors import ConfigError


class NonFiniteError(ConfigError):
    """NaN or infinity in a parameter, a threshold or a measured result."""


def check_finite(value, where: str) -> None:
    """NaN and infinity are refused anywhere in a (nested) result."""
    if isinstance(value, (float, np.floating)) and not math.isfinite(float(value)):
        raise NonFiniteError(f"{where}: {value} is not a finite number (NaN and infinity are refused)")
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, f"{where}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(v, f"{where}[{i}]")
