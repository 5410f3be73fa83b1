"""Dataset cards, checksummed file fetching and the fixed splits.

`suite.data.splits` holds the split types and the loader registry; the loader modules (digits, mnist, cifar10,
sst2) register with it; `suite.data.datasets` imports them and loads a dataset by name (`load_dataset`, also
reachable here, imported on first use so that `slimbench list` reads no data)."""
from suite.data.splits import DatasetSplits, Split

__all__ = ["DatasetSplits", "Split", "load_dataset"]


def __getattr__(name: str):
    if name == "load_dataset":
        from suite.data.datasets import load_dataset
        return load_dataset
    raise AttributeError(f"module 'suite.data' has no attribute {name!r}")
