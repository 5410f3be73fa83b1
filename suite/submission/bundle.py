"""Submission bundles: a directory or .tar.gz holding

    manifest.json        kind, version, method (spec, class, source file, sha256; a chain: spec and `stages`,
                         one such entry per submitted stage with its position), tracks, targets, seed,
                         record ids, and the sha256 of every other file in the bundle
    method/<file>.py     the method's source (for an entry point: the module file its class lives in);
                         a chain's submitted stages: method/stage<N>_<file>.py
    method/SHA256        "<sha256>  <file>" lines (sha256sum format)
    records/<id>.json    one schema-valid record per run
    environment.json     provenance (code, CPU, OS, tracked packages) + every installed distribution

Reading never extracts to disk: a bundle is read into memory (regular files only, no absolute or
`..` paths, size-capped), so a hostile archive cannot write anywhere."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from suite.errors import SlimBenchError

KIND = "slimbench-submission"
VERSION = 1
MANIFEST = "manifest.json"
MAX_BUNDLE_BYTES = 256 << 20
MAX_FILES = 5000


class BundleError(SlimBenchError):
    """A bundle is unreadable or invalid; the message names the file and the problem."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def environment() -> dict:
    from importlib import metadata

    from suite.records import provenance

    dists = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            dists[name] = dist.version
    return {"provenance": provenance.collect(), "distributions": dict(sorted(dists.items(), key=lambda kv: kv[0].lower()))}


def write_bundle(out: Path, records: list[dict], method: dict, sources: list[tuple[str, bytes, dict]],
                 tracks: list[str], targets: list[str], seed: int) -> Path:
    """Write a bundle directory (or .tar.gz when `out` ends so). `method`: spec, class, entry_point (a chain: spec
    and `stages`, one entry per submitted stage); `sources`: (file name, bytes, stage entry) of each submitted
    method source, stored under method/ (a chain's as method/stage<N>_<file>)."""
    files: dict[str, bytes] = {}
    chain = "stages" in method
    entries, sums = [], []
    for name, data, entry in sources:
        file_name = f"stage{entry['stage']}_{name}" if chain else name
        digest = sha256_bytes(data)
        files[f"method/{file_name}"] = data
        sums.append(f"{digest}  {file_name}\n")
        entries.append({**entry, "source": f"method/{file_name}", "sha256": digest})
    files["method/SHA256"] = "".join(sums).encode()
    method = {**method, "stages": entries} if chain else {**method, **{k: entries[0][k] for k in ("source", "sha256")}}
    for record in records:
        files[f"records/{record['id']}.json"] = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    files["environment.json"] = (json.dumps(environment(), indent=2, sort_keys=True) + "\n").encode()
    manifest = {
        "kind": KIND, "version": VERSION, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": method,
        "tracks": list(tracks), "targets": list(targets), "seed": seed,
        "records": [r["id"] for r in records],
        "files": {name: sha256_bytes(data) for name, data in sorted(files.items())},
    }
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    out = Path(out)
    if out.exists():
        raise BundleError(f"{out} already exists; choose another --out (bundles are never overwritten)")
    if out.name.endswith((".tar.gz", ".tgz")):
        _write_tar(out, files)
    else:
        _write_dir(out, files)
    return out


def _write_dir(out: Path, files: dict[str, bytes]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent if out.parent.exists() else None))
    for name, data in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)


def _write_tar(out: Path, files: dict[str, bytes]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    top = out.name.removesuffix(".tar.gz").removesuffix(".tgz")
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}-")
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, data in sorted(files.items()):
                info = tarfile.TarInfo(f"{top}/{name}")
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                tar.addfile(info, io.BytesIO(data))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Bundle:
    """An in-memory bundle: relative POSIX path -> bytes."""
    origin: Path
    files: dict[str, bytes]

    @property
    def manifest(self) -> dict:
        if MANIFEST not in self.files:
            raise BundleError(f"{self.origin}: no {MANIFEST} (is this a slimbench submission bundle?)")
        try:
            manifest = json.loads(self.files[MANIFEST])
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"{self.origin}: {MANIFEST} is not valid JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
            raise BundleError(f"{self.origin}: {MANIFEST} is not a {KIND} manifest")
        if manifest.get("version") != VERSION:
            raise BundleError(f"{self.origin}: bundle version {manifest.get('version')!r} is not supported "
                              f"(this slimbench reads version {VERSION})")
        return manifest

    def record_files(self) -> dict[str, bytes]:
        return {name: data for name, data in self.files.items()
                if name.startswith("records/") and name.endswith(".json")}

    def method_source(self) -> tuple[str, bytes]:
        name = self.manifest["method"]["source"]
        if name not in self.files:
            raise BundleError(f"{self.origin}: the method source {name} listed in the manifest is missing")
        return name, self.files[name]

    def stage_entries(self) -> list[dict]:
        """The manifest's submitted-source entries: the method itself, or each submitted stage of a chain."""
        method = self.manifest.get("method") or {}
        stages = method.get("stages")
        if stages is None:
            return [{**method, "stage": None}]
        if not isinstance(stages, list) or not all(isinstance(e, dict) for e in stages):
            raise BundleError(f"{self.origin}: {MANIFEST}'s method.stages is not a list of objects")
        return stages

    def source_of(self, entry: dict) -> tuple[str, bytes]:
        name = entry.get("source")
        if not isinstance(name, str) or name not in self.files:
            raise BundleError(f"{self.origin}: the method source {name} listed in the manifest is missing")
        return name, self.files[name]


def _safe_name(name: str, origin: Path) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BundleError(f"{origin}: unsafe path {name!r} in the bundle")
    return str(path)


def load_bundle(path: Path) -> Bundle:
    path = Path(path)
    files: dict[str, bytes] = {}
    total = 0
    if path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.is_symlink():
                raise BundleError(f"{path}: {item.relative_to(path)} is a symbolic link; bundles hold plain files only")
            if item.is_file():
                total += item.stat().st_size
                if total > MAX_BUNDLE_BYTES or len(files) >= MAX_FILES:
                    raise BundleError(f"{path}: larger than {MAX_BUNDLE_BYTES >> 20} MB / {MAX_FILES} files")
                files[_safe_name(item.relative_to(path).as_posix(), path)] = item.read_bytes()
    elif path.is_file():
        try:
            with tarfile.open(path, mode="r:*") as tar:
                members = tar.getmembers()
                roots = {m.name.split("/", 1)[0] for m in members}
                strip = len(roots) == 1 and not any(m.name == next(iter(roots)) and m.isfile() for m in members)
                for member in members:
                    if member.isdir():
                        continue
                    if not member.isfile():
                        raise BundleError(f"{path}: {member.name} is not a regular file (links and devices are refused)")
                    total += member.size
                    if total > MAX_BUNDLE_BYTES or len(files) >= MAX_FILES:
                        raise BundleError(f"{path}: larger than {MAX_BUNDLE_BYTES >> 20} MB / {MAX_FILES} files")
                    name = _safe_name(member.name, path)
                    if strip:
                        name = name.split("/", 1)[1] if "/" in name else name
                    files[name] = tar.extractfile(member).read()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BundleError(f"{path}: not a readable .tar.gz bundle ({exc})") from None
    else:
        raise BundleError(f"bundle {path} does not exist")
    return Bundle(path, files)
