"""An example submitted method, written from docs/submitting.md alone: k-means weight clustering (weight sharing).

Every Linear/Conv2d weight tensor is clustered on its own into `clusters` shared values (1-D k-means, centroids
initialised evenly between the smallest and largest weight, as Han et al. 2016 recommend). Zeros are left out of
the clustering and stay zero, so it composes after a pruning stage. The shared values are then fine-tuned for the
budget's `finetune_epochs` on the train split: after every SGD step each cluster's weights are set back to their
mean. The float model is exported with `context.export_torch`, which also hands it to the next stage of a chain:

    slimbench submit "torch-magnitude+examples/weight_cluster.py:WeightCluster+tflite-int8" --tracks digits-mlp \\
        --out bundle.tar.gz

Only numpy and torch are used; the harness gives the data (never the test split) and exports the artifacts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from methods.base import Method
from suite.errors import ConfigError


@dataclass(frozen=True)
class WeightClusterConfig:
    clusters: int = 16      # shared values per layer (16 = 4-bit indices)
    iterations: int = 25    # k-means (Lloyd) iterations
    finetune: bool = True   # fine-tune the shared values for the budget's finetune_epochs

    def __post_init__(self):
        if not 2 <= self.clusters <= 256:
            raise ConfigError(f"clusters={self.clusters!r} must be in [2, 256]")
        if self.iterations < 1:
            raise ConfigError(f"iterations={self.iterations!r} must be >= 1")


def kmeans(values: np.ndarray, k: int, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """1-D k-means with linear initialisation: (centroids, index of each value's centroid)."""
    centroids = np.linspace(values.min(), values.max(), k)
    for _ in range(iterations):
        index = np.abs(values[:, None] - centroids[None, :]).argmin(axis=1)
        for j in range(k):
            members = values[index == j]
            if members.size:
                centroids[j] = members.mean()
    index = np.abs(values[:, None] - centroids[None, :]).argmin(axis=1)
    return centroids, index


class WeightCluster(Method):
    name = "weight-cluster"
    family = "clustering"
    framework = "torch"
    description = "k-means weight sharing per layer (zeros kept, shared values fine-tuned); example submission"
    formats = ("onnx", "tflite", "torchscript")
    Config = WeightClusterConfig

    def apply(self, model, context):
        import torch
        from torch import nn

        cfg = self.config
        net = model.torch()  # a fresh copy of the (previous stage's) model
        layers = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        groups = []  # per layer: (positions of the clustered weights, their cluster index, k)
        for layer in layers:
            w = layer.weight.detach().numpy().ravel()
            where = np.flatnonzero(w != 0)
            k = min(cfg.clusters, max(1, len(np.unique(w[where]))))
            centroids, index = kmeans(w[where].astype(np.float64), k, cfg.iterations)
            groups.append((torch.from_numpy(where), torch.from_numpy(index), k))

        def share():  # every clustered weight := its cluster's mean; the zeros stay zero
            with torch.no_grad():
                for layer, (where, index, k) in zip(layers, groups):
                    flat = layer.weight.data.view(-1)
                    values = flat[where]
                    means = torch.zeros(k).index_add_(0, index, values) / torch.bincount(index, minlength=k).clamp(min=1)
                    flat.zero_()
                    flat[where] = means[index]

        share()
        epochs = context.budget.finetune_epochs if cfg.finetune else 0
        if epochs > 0:
            x = torch.from_numpy(context.train.x)
            y = torch.from_numpy(context.train.y)
            optimizer = torch.optim.SGD(net.parameters(), lr=context.budget.finetune_lr, momentum=0.9)
            generator = torch.Generator().manual_seed(context.seed)
            net.train()
            for _ in range(epochs):
                order = torch.randperm(len(x), generator=generator)
                for start in range(0, len(x), context.budget.batch_size):
                    batch = order[start:start + context.budget.batch_size]
                    optimizer.zero_grad()
                    nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
                    optimizer.step()
                    share()
            net.eval()
        with torch.no_grad():
            predictions = net(torch.from_numpy(context.validation.x)).argmax(1).numpy()
        distinct = [int(torch.unique(layer.weight[layer.weight != 0]).numel()) for layer in layers]
        total = sum(layer.weight.numel() for layer in layers)
        nonzero = sum(int((layer.weight != 0).sum()) for layer in layers)
        info = {"clusters": cfg.clusters, "distinct_values_per_layer": distinct, "finetune_epochs": epochs,
                "sparsity": round(1 - nonzero / total, 6),
                "validation_accuracy": float((predictions == context.validation.y).mean())}
        return context.export_torch(net, "weight-cluster", info)
