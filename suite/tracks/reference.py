"""Train a track's reference checkpoint with its fixed-seed recipe and write checkpoint + metadata."""
from __future__ import annotations

import json
import time
from dataclasses import asdict

from suite.data.fetch import sha256_file
from suite.tracks.base import Track
from suite.tracks.torch_models import count_params
from suite.tracks.training import accuracy_torch, fit


def train_reference(track: Track, out_dir=None) -> dict:
    import torch

    from suite.records.provenance import package_versions

    custom = getattr(track, "train_reference", None)
    if custom is not None:  # a track with its own recipe (sst2-transformer: tokenizer check, bucketed batches)
        return custom(out_dir)
    out_dir = out_dir or track.checkpoint_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = track.load_splits()
    torch.manual_seed(track.recipe.seed)
    model = track.build_torch()
    start = time.time()
    fit(model, splits.train.x, splits.train.y, track.recipe, progress=True)
    seconds = time.time() - start
    ckpt = out_dir / f"{track.name}.pt"
    torch.save(model.state_dict(), ckpt)
    params, nonzero = count_params(model)
    meta = {
        "track": track.name,
        "sha256": sha256_file(ckpt),
        "bytes": ckpt.stat().st_size,
        "params": params,
        "recipe": asdict(track.recipe),
        "reference_accuracy": accuracy_torch(model, splits.test.x, splits.test.y),
        "validation_accuracy": accuracy_torch(model, splits.validation.x, splits.validation.y),
        "dataset": track.dataset,
        "dataset_sha256": splits.file_sha256,
        "train_seconds": round(seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "packages": package_versions(["torch", "numpy"]),
        "trained_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": f"slimbench train-reference --track {track.name}",
    }
    (out_dir / f"{track.name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
