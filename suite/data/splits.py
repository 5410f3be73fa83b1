"""Fixed, seeded splits shared by every method and target."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
    def deco(fn):
        _LOADERS[name] = fn
        return fn
    return deco


@lru_cache(maxsize=None)
def load_dataset(name: str) -> DatasetSplits:
    # Import the loader modules lazily so that `slimbench list` does not read any data.
    from suite.data import cifar10, digits, mnist  # noqa: F401
    try:
        from suite.data import sst2  # noqa: F401  (optional text track)
    except ImportError:
        pass
    from suite.errors import UnknownNameError

    if name not in _LOADERS:
        raise UnknownNameError("dataset", name, list(_LOADERS))
    return _LOADERS[name]()
