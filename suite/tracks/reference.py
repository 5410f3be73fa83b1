"""Train a track's reference checkpoint with its fixed-seed recipe and write checkpoint + metadata."""
from __future__ import annotations

import json
import time
from dataclasses import asdict

from suite.data.fetch import sha256_file
from suite.tracks.base import Track
from suite.tracks.torch_models import count_params
from suite.tracks.training import accuracy_torch, fit, torch_threads


def train_reference(track: Track, out_dir=None) -> dict:
    import torch

    custom = getattr(track, "train_reference", None)
    if custom is not None:  # a track with its own recipe (sst2-transformer: tokenizer check, bucketed batches)
        return custom(out_dir)
    out_dir = out_dir or track.checkpoint_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = track.load_splits()
    with torch_threads(track.train_threads):
        torch.manual_seed(track.recipe.seed)
        model = track.build_torch()
        start = time.time()
        fit(model, splits.train.x, splits.train.y, track.recipe, progress=True, augment=track.augmentation())
        seconds = time.time() - start
    recipe = asdict(track.recipe) | track.training_loop_info()
    return save_reference(track, model, splits, out_dir, recipe=recipe, seconds=seconds,
                          packages=["torch", "numpy"])


def save_reference(track: Track, model, splits, out_dir, *, recipe: dict, seconds: float, packages: list[str],
                   validation_accuracy: float | None = None, extra: dict | None = None) -> dict:
    """Write `<track>.pt` (a weights-only state dict) and `<track>.json` (its sha256, test and validation
    accuracy, recipe, data checksums, time, threads and package versions, plus the track's `extra` facts)."""
    import torch

    from suite.records.provenance import package_versions

    ckpt = out_dir / f"{track.name}.pt"
    torch.save(model.state_dict(), ckpt)
    params, _ = count_params(model)
    if validation_accuracy is None:
        validation_accuracy = accuracy_torch(model, splits.validation.x, splits.validation.y)
    meta = {
        "track": track.name,
        "sha256": sha256_file(ckpt),
        "bytes": ckpt.stat().st_size,
        "params": params,
        "recipe": recipe,
        "reference_accuracy": accuracy_torch(model, splits.test.x, splits.test.y),
        "validation_accuracy": validation_accuracy,
        "dataset": track.dataset,
        "dataset_sha256": splits.file_sha256,
        **(extra or {}),
        "train_seconds": round(seconds, 1),
        "torch_threads": track.train_threads,  # the recipe's pinned count (see Track.train_threads)
        "packages": package_versions(packages),
        "trained_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": f"slimbench train-reference --track {track.name}",
    }
    (out_dir / f"{track.name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
