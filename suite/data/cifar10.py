"""CIFAR-10 in two variants that never mix: `cifar10` (the official lossless binary archive) and
`cifar10-jpeg` (a complete quality-75 JPEG copy, decoded once with a pinned Pillow and verified pixel for pixel
against the card's sha256 of the decoded arrays). Both end up as the canonical CIFAR-10 binary batches
(1 label byte + 3,072 bytes of R, G, B planes per record, 10,000 records per file)."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from suite.data.fetch import card_checksums, fetch_file, load_card
from suite.data.splits import DatasetSplits, Split, carve, dataset_loader
from suite.errors import ChecksumError
from suite.paths import cache_dir

RECORD_BYTES = 1 + 3 * 32 * 32
BATCH_RECORDS = 10_000
BATCH_BYTES = RECORD_BYTES * BATCH_RECORDS  # 30,730,000
TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCH = "test_batch.bin"
_JPEG_MEMBER = re.compile(r"(?:^|/)(train|test)/([a-z]+)/(\d+)\.jpg$")


def read_batch(name: str, data: bytes, expected_sha256: str | None = None, where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """One binary batch -> (uint8 images (N, 3, 32, 32), int64 labels). A wrong size or checksum is an error
    naming the file; nothing is written."""
    label = where or name
    if len(data) != BATCH_BYTES:
        raise ChecksumError(f"CIFAR batch {label}: {len(data):,} bytes, expected {BATCH_BYTES:,} "
                            f"({BATCH_RECORDS:,} records of {RECORD_BYTES} bytes): truncated or not a CIFAR-10 batch")
    if expected_sha256 is not None:
        found = hashlib.sha256(data).hexdigest()
        if found != expected_sha256:
            raise ChecksumError(f"CIFAR batch {label}: sha256 {found} does not match the dataset card "
                                f"({expected_sha256})")
    records = np.frombuffer(data, dtype=np.uint8).reshape(BATCH_RECORDS, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ChecksumError(f"CIFAR batch {label}: label {labels.max()} outside 0..9")
    return records[:, 1:].reshape(BATCH_RECORDS, 3, 32, 32), labels


def _to_splits(dataset: str, card: dict, batches: dict[str, tuple[np.ndarray, np.ndarray]],
               file_sha256: dict[str, str]) -> DatasetSplits:
    x_train = np.concatenate([batches[n][0] for n in TRAIN_BATCHES]).astype(np.float32) / 255.0
    y_train = np.concatenate([batches[n][1] for n in TRAIN_BATCHES])
    x_test = batches[TEST_BATCH][0].astype(np.float32) / 255.0
    splits = card["splits"]
    train, val, calib = carve(x_train, y_train, splits["validation"]["size"], splits["calibration"]["size"])
    return DatasetSplits(dataset, train, val, calib, Split(x_test, batches[TEST_BATCH][1]), file_sha256,
                         card["num_classes"])


# -- lossless: the official binary archive ------------------------------------------------------------------
@dataset_loader("cifar10")
def load_cifar10() -> DatasetSplits:
    card = load_card("cifar10")
    archive = fetch_file("cifar10", "cifar-10-binary.tar.gz")
    batches = {}
    with tarfile.open(archive, "r:gz") as tar:
        for name, member in card["archive_members"].items():
            try:
                handle = tar.extractfile(member)
            except KeyError:
                handle = None
            if handle is None:
                raise ChecksumError(f"{archive}: has no member {member}; not the official cifar-10-binary.tar.gz")
            batches[name] = read_batch(name, handle.read(), where=f"{archive.name}:{member}")
    return _to_splits("cifar10", card, batches, card_checksums("cifar10"))


# -- lossy: the JPEG copy, decoded once with the pinned decoder ---------------------------------------------
def decoded_dir(card: dict) -> Path:
    decoder = card["decoder"]
    return cache_dir() / "cifar10-jpeg" / f"decoded-{decoder['package']}-{decoder['version']}"


def _pillow_version() -> str:
    from importlib.metadata import version
    return version("pillow")


def _decode_archive(card: dict) -> dict[str, bytes]:
    """Decode every JPEG into the canonical binary batches (train in the official order, test class-sorted)."""
    from PIL import Image
    import io

    classes = card["classes"]
    archive = fetch_file("cifar10-jpeg", "cifar-10-jpeg.tar.gz")
    labels_path = fetch_file("cifar10-jpeg", "train_labels.txt")
    files: dict[tuple[str, int, int], bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            match = _JPEG_MEMBER.search(member.name) if member.isfile() else None
            if match is None:
                continue
            split, cls, number = match.group(1), match.group(2), int(match.group(3))
            if cls not in classes:
                raise ChecksumError(f"{archive}: unexpected class folder {cls!r} in {member.name}")
            files[(split, classes.index(cls), number)] = tar.extractfile(member).read()
    train_labels = [int(v) for v in labels_path.read_text().split()]
    expected = {("train", c): 5000 for c in range(10)} | {("test", c): 1000 for c in range(10)}
    for (split, c), count in expected.items():
        found = sum(1 for key in files if key[0] == split and key[1] == c)
        if found != count:
            raise ChecksumError(f"{archive}: {found} {split} images of class {classes[c]!r}, expected {count}")
    if len(train_labels) != 50_000:
        raise ChecksumError(f"{labels_path}: {len(train_labels)} labels, expected 50,000")

    def record(key) -> bytes:
        image = Image.open(io.BytesIO(files[key])).convert("RGB")
        if image.size != (32, 32):
            raise ChecksumError(f"{archive}: {key} is {image.size}, expected 32x32")
        planes = np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)  # HWC -> CHW (R, G, B planes)
        return bytes([key[1]]) + planes.tobytes()

    seen = [0] * 10
    train_records = []
    for label in train_labels:  # official record i = file k of class L, k = earlier records with label L
        train_records.append(record(("train", label, seen[label])))
        seen[label] += 1
    test_records = [record(("test", c, k)) for c in range(10) for k in range(1000)]
    out = {name: b"".join(train_records[i * BATCH_RECORDS:(i + 1) * BATCH_RECORDS])
           for i, name in enumerate(TRAIN_BATCHES)}
    out[TEST_BATCH] = b"".join(test_records)
    return out


def decode_cifar10_jpeg(card: dict) -> Path:
    """Decode and verify into the cache (atomically: a failed check leaves nothing behind)."""
    expected = card["decoded_sha256"]
    decoder = card["decoder"]
    data = _decode_archive(card)
    for name, blob in data.items():
        found = hashlib.sha256(blob).hexdigest()
        if found != expected[name]:
            raise ChecksumError(
                f"cifar10-jpeg: decoded {name} has sha256 {found}, the card expects {expected[name]} for "
                f"{decoder['package']} {decoder['version']} ({decoder['mode']}); this environment decoded with "
                f"pillow {_pillow_version()}. Install pillow=={decoder['version']} (other JPEG decoders differ by a "
                f"few levels per pixel) and re-run.")
    final = decoded_dir(card)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=final.name + ".part-"))
    try:
        for name, blob in data.items():
            (tmp / name).write_bytes(blob)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


@dataset_loader("cifar10-jpeg")
def load_cifar10_jpeg() -> DatasetSplits:
    card = load_card("cifar10-jpeg")
    expected = card["decoded_sha256"]
    folder = decoded_dir(card)
    if not all((folder / name).exists() for name in expected):
        folder = decode_cifar10_jpeg(card)
    batches = {name: read_batch(name, (folder / name).read_bytes(), expected[name], where=str(folder / name))
               for name in expected}
    return _to_splits("cifar10-jpeg", card, batches, card_checksums("cifar10-jpeg"))

