"""scikit-learn's bundled 8x8 digits: the seconds-long smoke dataset (nothing is downloaded)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.data.fetch import load_card, verify_file
from suite.data.splits import DatasetSplits, Split, carve, dataset_loader


@dataset_loader("digits")
def load_digits() -> DatasetSplits:
    import sklearn.datasets

    card = load_card("digits")
    spec = card["files"]["digits.csv.gz"]
    path = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"
    verify_file(path, spec["sha256"], spec.get("bytes"))
    raw = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x, y = raw[:, :-1] / 16.0, raw[:, -1].astype(np.int64)
    splits = card["splits"]
    n_test = splits["test"]["size"]
    order = np.random.default_rng(0).permutation(len(y))
    test_idx, rest_idx = np.sort(order[:n_test]), np.sort(order[n_test:])
    train, val, calib = carve(x[rest_idx], y[rest_idx], splits["validation"]["size"], splits["calibration"]["size"])
    return DatasetSplits("digits", train, val, calib, Split(x[test_idx], y[test_idx]),
                         {"digits.csv.gz": spec["sha256"]}, card["num_classes"])
