"""`torch-kmeans`: k-means weight sharing in PyTorch (Han et al. 2016, Deep Compression, stage 2).

Every Conv2d/Linear weight tensor (biases are kept) is clustered on its own: 1-D k-means (Lloyd's algorithm) over
its values, centroids initialised linearly between the smallest and largest value (the initialisation Han et al.
found best: it keeps the rare large weights). With `preserve_zeros` (default) only the non-zero weights are
clustered, so a pruned model stays exactly as sparse (prune -> cluster -> quantize). Each weight is then replaced by
its centroid and the centroids are fine-tuned within the budget: after every optimiser step each cluster's weights
are set to their mean, so the shared value moves by the mean of its weights' updates (Han et al. sum the
gradients; the mean is the same direction, scaled) and the assignment stays fixed. The exported float model has at
most `clusters` distinct non-zero values per layer: the gain is storage (gzip size; an index of log2(clusters) bits
per weight plus a codebook), not speed on dense kernels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from methods import METHODS
from methods.base import Method, check_choice
from methods.clustering.common import check_clusters, cluster_report, summary
from methods.pruning.common import finetune, prunable_layers, resolve_epochs, validation_accuracy
from suite.errors import ConfigError

INITS = ("linear", "density", "random")


@dataclass(frozen=True)
class KMeansConfig:
    clusters: int = 16               # shared values per layer (16 = 4-bit indices)
    init: Literal["linear", "density", "random"] = "linear"  # Han et al.: linear keeps the large weights
    iterations: int = 30             # Lloyd iterations (stops earlier when no assignment changes)
    preserve_zeros: bool = True      # cluster only non-zero weights: pruned zeros stay zeros
    epochs: int = -1                 # centroid fine-tuning epochs; -1 = the track budget's finetune_epochs
    lr: float = 0.0                  # fine-tuning learning rate; 0 = the track budget's finetune_lr

    def __post_init__(self):
        check_clusters(self.clusters, "torch-kmeans.clusters")
        check_choice(self.init, INITS, "torch-kmeans.init")
        if not isinstance(self.iterations, int) or self.iterations < 1:
            raise ConfigError(f"torch-kmeans.iterations={self.iterations!r} must be an integer >= 1")
        if self.epochs < -1:
            raise ConfigError(f"torch-kmeans.epochs={self.epochs}: use -1 for the track budget or a count >= 0")
        if self.lr < 0:
            raise ConfigError(f"torch-kmeans.lr={self.lr} must be >= 0 (0 = the track budget's finetune_lr)")


def kmeans_1d(values: np.ndarray, clusters: int, init: str, iterations: int, rng: np.random.Generator):
    """Lloyd's k-means on scalars. Returns (centroids sorted ascending, assignment per value, iterations run).
    In 1-D the nearest centroid is found by the midpoints between sorted centroids (searchsorted); an empty
    cluster keeps its centroid."""
    values = np.asarray(values, dtype=np.float64)
    k = min(clusters, max(1, np.unique(values).size))
    low, high = float(values.min()), float(values.max())
    if init == "linear":
        centroids = np.linspace(low, high, k)
    elif init == "density":  # evenly spaced quantiles of the values' distribution
        centroids = np.quantile(values, (np.arange(k) + 0.5) / k)
    else:
        centroids = np.sort(rng.uniform(low, high, k))
    assign = None
    ran = 0
    for ran in range(1, iterations + 1):
        new = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, values)
        if assign is not None and np.array_equal(new, assign):
            break
        assign = new
        sums = np.bincount(assign, weights=values, minlength=k)
        counts = np.bincount(assign, minlength=k)
        centroids = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        order = np.argsort(centroids, kind="stable")
        if not np.array_equal(order, np.arange(k)):
            centroids, assign = centroids[order], np.argsort(order)[assign]
    return centroids, assign, ran


class SharedWeights:
    """Keeps each layer's weights equal to its cluster means (and its zeros zero) during fine-tuning."""

    def __init__(self, layers, config: KMeansConfig, rng: np.random.Generator):
        import torch

        self.layers, self.groups, self.info = layers, [], {}
        with torch.no_grad():
            for layer in layers:
                w = layer.weight.detach().cpu().numpy().ravel()
                members = np.flatnonzero(w != 0) if config.preserve_zeros else np.arange(w.size)
                if members.size == 0:
                    self.groups.append(None)
                    continue
                centroids, assign, ran = kmeans_1d(w[members], config.clusters, config.init, config.iterations, rng)
                self.groups.append((torch.from_numpy(members), torch.from_numpy(assign.astype(np.int64)),
                                    len(centroids)))
                self.info[layer.name] = {"lloyd_iterations": ran, "clusters": int(len(centroids))}
        self.apply()

    def apply(self, _step: int | None = None) -> None:
        import torch

        with torch.no_grad():
            for layer, group in zip(self.layers, self.groups):
                flat = layer.weight.data.view(-1)
                if group is None:
                    continue
                members, assign, k = group
                values = flat[members]
                sums = torch.zeros(k, dtype=values.dtype).index_add_(0, assign, values)
                counts = torch.bincount(assign, minlength=k).clamp_min(1).to(values.dtype)
                shared = sums / counts
                if len(members) != flat.numel():  # the weights outside the clusters are pruned zeros: keep them so
                    flat.zero_()
                flat[members] = shared[assign]


@METHODS.register
class TorchKMeans(Method):
    name = "torch-kmeans"
    family = "clustering"
    framework = "torch"
    description = ("k-means weight sharing per layer (Deep Compression): linear-initialised 1-D k-means, zeros kept, "
                   "shared centroids fine-tuned; compression (gzip), not speedup")
    formats = ("onnx", "tflite", "torchscript")
    Config = KMeansConfig

    def apply(self, model, context):
        cfg: KMeansConfig = self.config
        net = model.torch()
        layers = prunable_layers(net)
        epochs, epoch_info = resolve_epochs(cfg.epochs, context)
        lr = cfg.lr or float(context.budget.finetune_lr)
        before = validation_accuracy(net, context)
        shared = SharedWeights(layers, cfg, context.rng)
        clustered = validation_accuracy(net, context)
        finetune(net, context, epochs, lr, after_step=shared.apply)
        shared.apply()
        report = cluster_report([(layer.name, layer.weight.detach().cpu().numpy()) for layer in layers])
        for name, facts in shared.info.items():
            report[name].update(facts)
        info = {"weight_sharing": "k-means per layer (1-D Lloyd), shared centroids fine-tuned (cluster means)",
                "init": cfg.init, "preserve_zeros": cfg.preserve_zeros, "finetune_lr": lr, **epoch_info,
                "validation_accuracy_before": before, "validation_accuracy_clustered": clustered,
                "validation_accuracy": validation_accuracy(net, context), **summary(report, cfg.clusters)}
        return context.export_torch(net, "torch-kmeans", info)
