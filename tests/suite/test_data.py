"""Dataset loading: checksums, the lookup order, fixed splits, the test-split guard."""
import gzip
import shutil

import numpy as np
import pytest

from tests.conftest import requires_mnist
from suite.data.fetch import fetch_file, sha256_file, verify_file
from suite.data.guard import forbid_test_access
from suite.data.datasets import load_dataset
from suite.errors import ChecksumError, DatasetUnavailableError, TestSplitAccessError


def test_checksum_mismatch_names_the_file_and_the_fix(tmp_path, monkeypatch):
    bad = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.parent.mkdir()
    bad.write_bytes(gzip.compress(b"\x00" * 4542))
    monkeypatch.setenv("SLIMBENCH_DATA", str(tmp_path))
    with pytest.raises(ChecksumError) as err:
        fetch_file("mnist", "t10k-labels-idx1-ubyte.gz")
    message = str(err.value)
    assert str(bad) in message
    assert "SLIMBENCH_DATA" in message  # says what to do


def test_truncated_file_is_reported_by_size(tmp_path):
    f = tmp_path / "x.gz"
    f.write_bytes(b"abc")
    with pytest.raises(ChecksumError, match="truncated"):
        verify_file(f, "0" * 64, expected_bytes=4542)


def test_missing_dataset_without_network_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIMBENCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("SLIMBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SLIMBENCH_OFFLINE", "1")
    with pytest.raises(DatasetUnavailableError) as err:
        fetch_file("mnist", "t10k-labels-idx1-ubyte.gz")
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in message and "datasets/mnist.json" in message


@requires_mnist
def test_cache_is_used_after_slimbench_data(tmp_path, monkeypatch):
    import os
    src = os.path.join(os.environ["SLIMBENCH_DATA"], "mnist", "t10k-labels-idx1-ubyte.gz")
    cache = tmp_path / "cache"
    (cache / "mnist").mkdir(parents=True)
    shutil.copyfile(src, cache / "mnist" / "t10k-labels-idx1-ubyte.gz")
    monkeypatch.setenv("SLIMBENCH_DATA", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("SLIMBENCH_CACHE", str(cache))
    path = fetch_file("mnist", "t10k-labels-idx1-ubyte.gz")
    assert path == cache / "mnist" / "t10k-labels-idx1-ubyte.gz"
    assert sha256_file(path) == "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"


def test_digits_splits_are_fixed_and_disjoint():
    d = load_dataset("digits")
    assert (len(d.train), len(d.validation), len(d.calibration)) == (1257, 180, 256)
    assert len(d.test) == 360
    rows = lambda s: {r.tobytes() for r in s.x}  # noqa: E731
    # calibration is a subset of train; validation and test are disjoint from train
    assert rows(d.calibration) <= rows(d.train)
    assert not (rows(d.validation) & rows(d.train) - rows(d.test))
    assert d.train.x.dtype == np.float32 and d.train.x.max() <= 1.0


@requires_mnist
def test_mnist_splits_match_the_card():
    d = load_dataset("mnist")
    assert (len(d.train), len(d.validation), len(d.calibration), len(d.test)) == (55000, 5000, 1000, 10000)
    assert d.train.x.shape[1:] == (1, 28, 28)
    assert np.bincount(d.test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_test_split_is_refused_while_a_method_runs():
    d = load_dataset("digits")
    assert len(d.test) == 360  # the harness may read it
    with forbid_test_access("method 'x'"):
        with pytest.raises(TestSplitAccessError, match="test split"):
            d.test
    assert len(d.test) == 360
