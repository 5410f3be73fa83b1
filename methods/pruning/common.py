"""Helpers shared by the PyTorch pruning methods: which layers are prunable, what they are called,
how sparse they are, and fine-tuning within the track's budget."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

SPEEDUP_NOTE_UNSTRUCTURED = (
    "unstructured sparsity: the exported model keeps dense weight tensors with zeros, so dense runtime kernels "
    "(ONNX Runtime, LiteRT/XNNPACK, TorchScript) do the same work; the gain is storage (see gzip size), "
    "not speed. Any speedup in this record was measured, not assumed.")
SPEEDUP_NOTE_STRUCTURED = (
    "structured pruning: channels/neurons are physically removed, so the exported model is smaller and dense "
    "kernels do less work; the speedup in this record is measured on the target runtime.")


@dataclass
class PrunableLayer:
    name: str      # Han et al.-style name: conv1, conv2, fc1, fc2, ...
    index: int     # position in the nn.Sequential
    module: Any    # nn.Linear or nn.Conv2d

    @property
    def weight(self):
        return self.module.weight


def prunable_layers(model) -> list[PrunableLayer]:
    """Every Conv2d / Linear weight of a model, named conv<k> / fc<k> in order (biases are never pruned)."""
    from torch import nn

    layers, counts = [], {"conv": 0, "fc": 0}
    modules = list(model) if isinstance(model, nn.Sequential) else [m for m in model.modules()]
    for index, module in enumerate(modules):
        kind = "conv" if isinstance(module, nn.Conv2d) else "fc" if isinstance(module, nn.Linear) else None
        if kind is None:
            continue
        counts[kind] += 1
        layers.append(PrunableLayer(f"{kind}{counts[kind]}", index, module))
    if not layers:
        from suite.errors import ConfigError
        raise ConfigError(f"the model has no Conv2d/Linear layer to prune ({type(model).__name__})")
    return layers


def layer_report(layers: list[PrunableLayer]) -> dict[str, dict[str, Any]]:
    """Per layer: weights, non-zero weights, sparsity and fraction kept (weights only, as in Han et al.)."""
    out = {}
    for layer in layers:
        w = layer.weight.detach()
        n, nz = w.numel(), int((w != 0).sum())
        out[layer.name] = {"shape": list(w.shape), "weights": n, "nonzero": nz,
                           "sparsity": round(1 - nz / n, 6), "kept": round(nz / n, 6)}
    return out


def overall_weight_sparsity(report: dict[str, dict[str, Any]]) -> tuple[int, int, float]:
    n = sum(r["weights"] for r in report.values())
    nz = sum(r["nonzero"] for r in report.values())
    return n, nz, 1 - nz / n


def finetune_recipe(context, epochs: int, lr: float, seed_offset: int = 0):
    """The track's fine-tuning recipe: SGD+momentum, cosine, the budget's batch size."""
    from suite.tracks.training import TrainRecipe

    return TrainRecipe(epochs=epochs, lr=lr, batch_size=context.budget.batch_size, seed=context.seed + seed_offset)


def finetune(model, context, epochs: int, lr: float, after_step: Callable[[int], None] | None = None,
             seed_offset: int = 0):
    """Fine-tune on the train split (never the test split)."""
    from suite.tracks.training import fit

    if epochs <= 0:
        return model
    return fit(model, context.train.x, context.train.y, finetune_recipe(context, epochs, lr, seed_offset),
               after_step=after_step, augment=track_augmentation(context))


def track_augmentation(context):
    """The track's training augmentation (random crop/flip on CIFAR; none on MNIST/digits)."""
    from suite.tracks import TRACKS

    if context.track not in TRACKS:  # a context built by hand for a track this process does not know
        return None
    return TRACKS.get(context.track)().augmentation()


def validation_accuracy(model, context) -> float | None:
    """Top-1 on the validation split; None on a track without one (speed tracks: synthetic inputs only)."""
    from suite.tracks.training import accuracy_torch
    if len(context.validation) == 0:
        return None
    return round(accuracy_torch(model, context.validation.x, context.validation.y), 6)


def resolve_epochs(requested: int, context) -> tuple[int, dict[str, Any]]:
    """epochs=-1 means the track budget's finetune_epochs; anything else is used as given and, when above the
    budget, said so in the artifact info (reproductions follow a paper's recipe, not the leaderboard budget)."""
    budget = int(context.budget.finetune_epochs)
    if requested < 0:
        return budget, {"finetune_epochs": budget, "budget_finetune_epochs": budget}
    info = {"finetune_epochs": requested, "budget_finetune_epochs": budget}
    if requested > budget:
        info["over_budget"] = (f"fine-tuned {requested} epochs, above the track budget of {budget}: not comparable "
                               f"with budget-bound leaderboard entries")
    return requested, info


def as_float_list(values) -> list[float]:
    return [float(v) for v in np.atleast_1d(values)]
