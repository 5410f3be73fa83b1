"""Seeded PyTorch training loop shared by reference recipes and fine-tuning methods."""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class TrainRecipe:
    epochs: int
    lr: float
    batch_size: int = 128
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: str = "sgd"  # sgd | adam
    schedule: str = "cosine"  # cosine | constant
    seed: int = 0


@contextmanager
def torch_threads(count: int):
    """Run the block with `count` torch intra-op threads, then restore the previous setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(params, recipe: TrainRecipe):
    import torch

    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def random_crop_flip(pad: int = 4):
    """Augmentation for small images (the standard CIFAR recipe): zero-pad by `pad`, crop back at a random
    offset, flip left-right with probability 1/2. Seeded by the training loop's numpy generator."""
    def augment(xb, rng: np.random.Generator):
        import torch
        import torch.nn.functional as F

        n, _, h, w = xb.shape
        padded = F.pad(xb, (pad, pad, pad, pad))
        dy, dx = rng.integers(0, 2 * pad + 1, size=n), rng.integers(0, 2 * pad + 1, size=n)
        flip = rng.random(n) < 0.5
        out = torch.empty_like(xb)
        for i in range(n):
            crop = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
            out[i] = crop.flip(-1) if flip[i] else crop
        return out
    augment.description = f"random crop (zero pad {pad}) + horizontal flip"
    return augment


def fit(model, x: np.ndarray, y: np.ndarray, recipe: TrainRecipe,
        loss_fn: Callable | None = None, after_step: Callable[[int], None] | None = None,
        progress: bool = False, augment: Callable | None = None):
    """Train `model` in place. loss_fn(model, xb, yb) -> scalar loss (default: cross-entropy).
    after_step(global_step) runs after each optimiser step (pruning masks, schedules).
    augment(xb, rng) -> xb transforms each training batch (the track's augmentation, e.g. random crop/flip)."""
    import torch
    import torch.nn.functional as F

    seed_everything(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))
    optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], recipe)
    steps_per_epoch = math.ceil(len(y) / recipe.batch_size)
    total = max(1, recipe.epochs * steps_per_epoch)
    if recipe.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    else:
        scheduler = None
    loss_fn = loss_fn or (lambda m, xb, yb: F.cross_entropy(m(xb), yb))
    step = 0
    epochs = range(recipe.epochs)
    if progress:
        from tqdm import tqdm
        epochs = tqdm(epochs, desc="train", unit="epoch")
    model.train()
    for _ in epochs:
        order = torch.from_numpy(rng.permutation(len(y)))
        for i in range(steps_per_epoch):
            idx = order[i * recipe.batch_size:(i + 1) * recipe.batch_size]
            optimizer.zero_grad(set_to_none=True)
            xb = xt[idx] if augment is None else augment(xt[idx], rng)
            loss = loss_fn(model, xb, yt[idx])
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            step += 1
            if after_step is not None:
                after_step(step)
    model.eval()
    return model


def predict_torch(model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    import torch

    model.eval()
    outs = []
    with torch.inference_mode():
        for i in range(0, len(x), batch_size):
            outs.append(model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size]))).argmax(1).numpy())
    return np.concatenate(outs)


def accuracy_torch(model, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict_torch(model, x) == y).mean())
