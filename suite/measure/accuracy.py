"""Top-1 accuracy over the whole test split, computed by the target runtime itself."""
from __future__ import annotations

import numpy as np


def predict_all(runner, x: np.ndarray, batch: int = 64) -> np.ndarray:
    preds = [np.asarray(runner.predict(x[i:i + batch])).argmax(axis=-1) for i in range(0, len(x), batch)]
    return np.concatenate(preds)


def top1(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float((predictions == labels).mean())
