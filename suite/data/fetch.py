"""Find a dataset file: $SLIMBENCH_DATA -> user cache -> download; always verify sha256."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from functools import lru_cache
from pathlib import Path

from suite.errors import ChecksumError, DatasetUnavailableError, SlimBenchError
from suite.paths import DATASET_CARDS, cache_dir, data_dir


@lru_cache(maxsize=None)
def load_card(dataset: str) -> dict:
    path = DATASET_CARDS / f"{dataset}.json"
    if not path.exists():
        raise SlimBenchError(f"no dataset card {path}")
    return json.loads(path.read_text())


def card_checksums(dataset: str) -> dict[str, str]:
    """What a record carries as the dataset's identity: each file's sha256 (or `md5:` where only an md5 is
    published) and, for data verified after decoding, the decoded arrays' sha256 (`decoded/<file>`)."""
    card = load_card(dataset)
    out = {name: spec.get("sha256") or f"md5:{spec['md5']}" for name, spec in card.get("files", {}).items()}
    out.update({f"decoded/{name}": digest for name, digest in card.get("decoded_sha256", {}).items()})
    return out


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def md5_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, expected_sha256: str | None, expected_bytes: int | None = None,
                expected_md5: str | None = None) -> None:
    """Size, then sha256 (or, for files whose publisher gives only an md5, the md5)."""
    size = path.stat().st_size
    if expected_bytes is not None and size != expected_bytes:
        raise ChecksumError(
            f"{path}: size {size} bytes, expected {expected_bytes} (truncated or wrong file). "
            f"Delete it and re-run to download it again, or point SLIMBENCH_DATA at a verified copy."
        )
    if expected_sha256 is None and expected_md5 is not None:
        kind, expected, found = "md5", expected_md5, md5_file(path)
    else:
        kind, expected, found = "sha256", expected_sha256, sha256_file(path)
    if found != expected:
        raise ChecksumError(
            f"{path}: {kind} {found} does not match the dataset card ({expected}). "
            f"Delete it and re-run to download it again, or point SLIMBENCH_DATA at a verified copy."
        )


def verify_decompressed(path: Path, expected_sha256: str) -> None:
    """For gzip files repackaged by a distribution (other gzip headers, same data): check the data itself."""
    import gzip

    digest = hashlib.sha256()
    with gzip.open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise ChecksumError(f"{path}: sha256 of the decompressed bytes {digest.hexdigest()} does not match the "
                            f"dataset card ({expected_sha256}); it is not the canonical file")


def _download(urls: list[str], dest: Path, expected_bytes: int | None) -> list[str]:
    """Try each URL in order; return the list of failures (empty on success)."""
    failures = []
    if os.environ.get("SLIMBENCH_OFFLINE"):
        return ["downloads disabled (SLIMBENCH_OFFLINE is set)"]
    from tqdm import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    for url in urls:
        tmp = Path(tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")[1])
        try:
            with urllib.request.urlopen(url, timeout=30) as response, open(tmp, "wb") as out:
                total = int(response.headers.get("Content-Length") or expected_bytes or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=f"download {dest.name}") as bar:
                    while block := response.read(1 << 16):
                        out.write(block)
                        bar.update(len(block))
            os.replace(tmp, dest)  # atomic: a killed download never leaves a half file under the real name
            return []
        except Exception as exc:  # network errors of every kind: try the next mirror
            failures.append(f"{url}: {exc}")
            tmp.unlink(missing_ok=True)
    return failures


def fetch_file(dataset: str, filename: str) -> Path:
    """Return a verified local path of one file of a dataset card."""
    card = load_card(dataset)
    try:
        spec = card["files"][filename]
    except KeyError:
        raise SlimBenchError(f"dataset card {dataset!r} has no file {filename!r}") from None
    # Archives whose *contents* the loader verifies (e.g. decoded images) may come as another packaging of the
    # same files (a re-made archive from the canonical URL): then the archive bytes are not checked here.
    by_contents = spec.get("verify") == "contents"
    expected, size, md5 = spec.get("sha256"), spec.get("bytes"), spec.get("md5")

    def check(path: Path) -> Path:
        if not by_contents:
            verify_file(path, expected, size, md5)
        return path

    root = data_dir()
    if root is not None:
        candidate = root / dataset / filename
        if candidate.exists():
            return check(candidate)
    cached = cache_dir() / dataset / filename
    if cached.exists():
        return check(cached)
    # A system copy (e.g. Debian's dataset-fashion-mnist): same decompressed bytes, other gzip headers.
    for folder in card.get("system_dirs", []):
        candidate = Path(folder) / filename
        if candidate.exists() and spec.get("decompressed_sha256"):
            verify_decompressed(candidate, spec["decompressed_sha256"])
            return candidate
    failures = _download(spec.get("urls", []), cached, size)
    if failures:
        where = f"$SLIMBENCH_DATA ({root / dataset})" if root else "$SLIMBENCH_DATA (unset)"
        raise DatasetUnavailableError(
            f"dataset {dataset!r}: file {filename!r} is not in {where} nor in the cache ({cached.parent}), "
            f"and could not be downloaded:\n  " + "\n  ".join(failures or ["no URL in the card"]) +
            f"\nDownload it by hand from the URLs in datasets/{dataset}.json into {cached.parent}, "
            f"or set SLIMBENCH_DATA to a folder containing {dataset}/{filename}."
        )
    return check(cached)


def copy_into_cache(src: Path, dataset: str) -> Path:
    """Helper for users with files at hand: verify, then place them in the cache."""
    dest = cache_dir() / dataset / src.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    spec = load_card(dataset)["files"][src.name]
    verify_file(dest, spec.get("sha256"), spec.get("bytes"), spec.get("md5"))
    return dest
