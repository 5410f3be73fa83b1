"""The dataset catalog: imports every loader module (each registers itself with
`suite.data.splits.dataset_loader`) and loads a dataset's fixed splits by name, once per process."""
from __future__ import annotations

from functools import lru_cache

from suite.data import cifar10, digits, mnist  # noqa: F401  (registering)
from suite.data.splits import DatasetSplits, registered_loaders
from suite.errors import UnknownNameError

try:
    from suite.data import sst2  # noqa: F401  (optional text track)
except ImportError:
    pass


@lru_cache(maxsize=None)
def load_dataset(name: str) -> DatasetSplits:
    loaders = registered_loaders()
    if name not in loaders:
        raise UnknownNameError("dataset", name, list(loaders))
    return loaders[name]()
