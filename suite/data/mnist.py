"""MNIST and Fashion-MNIST from their four canonical IDX .gz files (same layout, same splits)."""
from __future__ import annotations

import gzip
import struct

import numpy as np

from suite.data.fetch import card_checksums, fetch_file, load_card
from suite.data.splits import DatasetSplits, Split, carve, dataset_loader
from suite.errors import SlimBenchError


def read_idx(path) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise SlimBenchError(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(dims)):
        raise SlimBenchError(f"{path}: IDX header says {dims} but holds {array.size} values")
    return array.reshape(dims)


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1] (see datasets/mnist.json)."""
    return (images.astype(np.float32) / 255.0)[:, None, :, :]


def load_idx_dataset(dataset: str) -> DatasetSplits:
    card = load_card(dataset)
    paths = {name: fetch_file(dataset, name) for name in card["files"]}
    x_train = normalise(read_idx(paths["train-images-idx3-ubyte.gz"]))
    y_train = read_idx(paths["train-labels-idx1-ubyte.gz"]).astype(np.int64)
    x_test = normalise(read_idx(paths["t10k-images-idx3-ubyte.gz"]))
    y_test = read_idx(paths["t10k-labels-idx1-ubyte.gz"]).astype(np.int64)
    splits = card["splits"]
    train, val, calib = carve(x_train, y_train, splits["validation"]["size"], splits["calibration"]["size"])
    return DatasetSplits(dataset, train, val, calib, Split(x_test, y_test),
                         card_checksums(dataset), card["num_classes"])


@dataset_loader("mnist")
def load_mnist() -> DatasetSplits:
    return load_idx_dataset("mnist")


@dataset_loader("fashion-mnist")
def load_fashion_mnist() -> DatasetSplits:
    return load_idx_dataset("fashion-mnist")
