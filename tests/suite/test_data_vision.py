"""Fashion-MNIST and CIFAR-10 (JPEG copy and lossless) loading: checksums, Debian's copy, decoder pinning,
bad batch files."""
import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from suite.data.fetch import card_checksums, fetch_file, load_card
from suite.errors import ChecksumError

DATA = Path(os.environ.get("SLIMBENCH_DATA") or "/nonexistent")
requires_fashion = pytest.mark.skipif(not (DATA / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").exists(),
                                      reason="Fashion-MNIST not in $SLIMBENCH_DATA (../shared/datasets)")
requires_cifar_jpeg = pytest.mark.skipif(not (DATA / "cifar10-jpeg" / "cifar-10-jpeg.tar.gz").exists(),
                                         reason="cifar10-jpeg not in $SLIMBENCH_DATA (../shared/datasets)")


@requires_fashion
def test_fashion_mnist_splits_match_the_card():
    from suite.data.datasets import load_dataset

    d = load_dataset("fashion-mnist")
    assert (len(d.train), len(d.validation), len(d.calibration), len(d.test)) == (55000, 5000, 1000, 10000)
    assert d.train.x.shape[1:] == (1, 28, 28) and d.train.x.dtype == np.float32
    assert np.bincount(d.test.y).tolist() == [1000] * 10


@requires_fashion
def test_fashion_mnist_from_debians_folder_is_checked_on_the_decompressed_bytes(tmp_path, monkeypatch):
    """Debian's dataset-fashion-mnist rewrites the gzip headers: other .gz bytes, same IDX data."""
    name = "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress((DATA / "fashion-mnist" / name).read_bytes())
    debian = tmp_path / "usr-share-datasets"
    debian.mkdir()
    (debian / name).write_bytes(gzip.compress(raw, mtime=0x5EDA0AED))  # other header, same data
    card = dict(load_card("fashion-mnist"), system_dirs=[str(debian)])
    monkeypatch.setattr("suite.data.fetch.load_card", lambda dataset: card)
    monkeypatch.setenv("SLIMBENCH_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("SLIMBENCH_CACHE", str(tmp_path / "cache"))
    assert fetch_file("fashion-mnist", name) == debian / name
    (debian / name).write_bytes(gzip.compress(raw[:-1] + b"\x09"))  # one label changed
    with pytest.raises(ChecksumError, match="decompressed"):
        fetch_file("fashion-mnist", name)


def test_records_name_the_decoded_cifar_arrays():
    sums = card_checksums("cifar10-jpeg")
    assert sums["decoded/test_batch.bin"] == load_card("cifar10-jpeg")["decoded_sha256"]["test_batch.bin"]
    assert card_checksums("cifar10")["cifar-10-binary.tar.gz"].startswith("md5:")
    assert load_card("cifar10-jpeg")["lossy"] is True


def _batch(labels: np.ndarray, seed: int = 0) -> bytes:
    images = np.random.default_rng(seed).integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    return np.concatenate([labels[:, None].astype(np.uint8), images], axis=1).tobytes()


def test_a_cifar_batch_of_the_wrong_size_or_checksum_names_the_file():
    from suite.data.cifar10 import read_batch

    good = _batch(np.arange(10_000) % 10)
    images, labels = read_batch("data_batch_1.bin", good, hashlib.sha256(good).hexdigest())
    assert images.shape == (10_000, 3, 32, 32) and labels[:3].tolist() == [0, 1, 2]
    with pytest.raises(ChecksumError, match=r"data_batch_1\.bin.*30,729,999 bytes, expected 30,730,000"):
        read_batch("data_batch_1.bin", good[:-1])
    with pytest.raises(ChecksumError, match=r"test_batch\.bin: sha256 .* does not match"):
        read_batch("test_batch.bin", good, "0" * 64)


def test_lossless_cifar_archive_with_a_bad_batch_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    """A user's cifar-10-binary.tar.gz (md5-checked) whose batch file is truncated: a clear error naming it."""
    import io
    import tarfile

    from suite.data import cifar10

    archive = tmp_path / "data" / "cifar10" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        for name, member in load_card("cifar10")["archive_members"].items():
            blob = _batch(np.arange(10_000) % 10)
            if name == "data_batch_3.bin":
                blob = blob[:-3073]
            info = tarfile.TarInfo(member)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    card = load_card("cifar10")
    patched = dict(card, files={"cifar-10-binary.tar.gz": dict(card["files"]["cifar-10-binary.tar.gz"], md5=md5)})
    monkeypatch.setattr("suite.data.cifar10.load_card", lambda dataset: patched)
    monkeypatch.setattr("suite.data.fetch.load_card", lambda dataset: patched)
    monkeypatch.setenv("SLIMBENCH_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SLIMBENCH_CACHE", str(tmp_path / "cache"))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(ChecksumError, match=r"cifar-10-batches-bin/data_batch_3\.bin: 30,726,927 bytes"):
        cifar10.load_cifar10()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_lossless_cifar_archive_with_a_wrong_md5_is_refused(tmp_path, monkeypatch):
    archive = tmp_path / "cifar10" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"not the archive")
    monkeypatch.setenv("SLIMBENCH_DATA", str(tmp_path))
    with pytest.raises(ChecksumError, match=r"cifar-10-binary\.tar\.gz: md5 .* does not match"):
        fetch_file("cifar10", "cifar-10-binary.tar.gz")


@requires_cifar_jpeg
def test_cifar10_jpeg_decodes_to_the_cards_arrays():
    from suite.data.datasets import load_dataset

    d = load_dataset("cifar10-jpeg")
    assert (len(d.train), len(d.validation), len(d.calibration), len(d.test)) == (45000, 5000, 1000, 10000)
    assert d.train.x.shape[1:] == (3, 32, 32) and d.train.x.dtype == np.float32
    assert np.bincount(d.test.y).tolist() == [1000] * 10
    assert d.file_sha256["decoded/data_batch_1.bin"].startswith("8da035fc")


@requires_cifar_jpeg
def test_another_jpeg_decoder_is_named_in_the_error(tmp_path, monkeypatch):
    """A decoder that differs by one level in one pixel: the error names the decoder the card expects; no
    cache entry is left behind."""
    from suite.data import cifar10

    real = cifar10._decode_archive

    def other_decoder(card):
        out = real(card)
        blob = bytearray(out["test_batch.bin"])
        blob[1] = (blob[1] + 1) % 256
        out["test_batch.bin"] = bytes(blob)
        return out

    monkeypatch.setattr(cifar10, "_decode_archive", other_decoder)
    monkeypatch.setenv("SLIMBENCH_CACHE", str(tmp_path / "cache"))
    card = load_card("cifar10-jpeg")
    with pytest.raises(ChecksumError, match=r"test_batch\.bin .*pillow 13\.0\.0.*pillow==13\.0\.0"):
        cifar10.decode_cifar10_jpeg(card)
    assert not cifar10.decoded_dir(card).exists()
    leftovers = list((tmp_path / "cache").rglob("*.bin")) if (tmp_path / "cache").exists() else []
    assert leftovers == []


def test_a_corrupted_decoded_cache_file_names_the_file(tmp_path, monkeypatch):
    """The decoded arrays are re-verified at every load: a changed cache file is an error naming it."""
    from suite.data import cifar10

    card = load_card("cifar10-jpeg")
    monkeypatch.setenv("SLIMBENCH_CACHE", str(tmp_path / "cache"))
    folder = cifar10.decoded_dir(card)
    folder.mkdir(parents=True)
    for name in card["decoded_sha256"]:
        (folder / name).write_bytes(_batch(np.arange(10_000) % 10))
    with pytest.raises(ChecksumError, match=str(folder / "data_batch_1.bin") + ": sha256"):
        cifar10.load_cifar10_jpeg()
