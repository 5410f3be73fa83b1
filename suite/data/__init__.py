"""Dataset cards, checksummed file fetching and the fixed splits."""
from suite.data.splits import DatasetSplits, Split, load_dataset

__all__ = ["DatasetSplits", "Split", "load_dataset"]
