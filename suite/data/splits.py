"""Fixed, seeded splits shared by every method and target."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.data.guard import check_test_access


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


class DatasetSplits:
    """train / validation / calibration for methods; test for the harness only (guarded)."""

    def __init__(self, name: str, train: Split, validation: Split, calibration: Split, test: Split,
                 file_sha256: dict[str, str], num_classes: int):
        self.name = name
        self.train = train
        self.validation = validation
        self.calibration = calibration
        self._test = test
        self.file_sha256 = file_sha256
        self.num_classes = num_classes

    @property
    def test(self) -> Split:
        check_test_access(self.name)
        return self._test


def carve(x: np.ndarray, y: np.ndarray, n_val: int, n_calib: int, val_seed: int = 0, calib_seed: int = 1):
    """Validation = first n_val of a seeded permutation of train; calibration = a seeded subset of the rest."""
    order = np.random.default_rng(val_seed).permutation(len(y))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    calib_idx = np.sort(np.random.default_rng(calib_seed).permutation(train_idx)[:n_calib])
    return Split(x[train_idx], y[train_idx]), Split(x[val_idx], y[val_idx]), Split(x[calib_idx], y[calib_idx])


_LOADERS = {}


def dataset_loader(name: str):
    """Decorator: a loader module registers `fn() -> DatasetSplits` for dataset `name` (this module never imports
    the loaders; suite.data.datasets does, and loads a dataset by name)."""
    def deco(fn):
        _LOADERS[name] = fn
        return fn
    return deco


def registered_loaders() -> dict:
    return dict(_LOADERS)
