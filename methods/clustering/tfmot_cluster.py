"""`tfmot-cluster`: TensorFlow Model Optimization's weight clustering (`cluster_weights`) on the tf-keras model.

The Keras model (the reference ported with the same weights, or a previous chain stage's Keras model) is wrapped
with `tfmot.clustering.keras.cluster_weights` (`number_of_clusters` shared values per Dense/Conv2D kernel,
TF-MOT's centroid initialisation), fine-tuned within the budget so TF-MOT trains the centroids, unwrapped with
`strip_clustering` and exported with `context.export_keras` (TFLite; in a chain the clustered Keras model is
handed to the next stage, e.g. `tflite-int8`). With `preserve_sparsity` (default) TF-MOT's sparsity-preserving
clustering (`clustering.keras.experimental` `cluster_weights(..., preserve_sparsity=True)`) keeps a pruned model's
zeros, so `tfmot-prune+tfmot-cluster+tflite-int8` is Deep Compression in TF-MOT. Needs tf-keras
(TF_USE_LEGACY_KERAS=1, set by the CLI, Makefile and tests)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from methods import METHODS
from methods.base import Method, check_choice
from methods.clustering.common import check_clusters, cluster_report, summary
from methods.pruning.common import resolve_epochs
from suite.errors import ConfigError

# config name -> TF-MOT CentroidInitialization member
INITS = {"kmeans++": "KMEANS_PLUS_PLUS", "linear": "LINEAR", "density": "DENSITY_BASED", "random": "RANDOM"}


@dataclass(frozen=True)
class TfmotClusterConfig:
    clusters: int = 16               # number_of_clusters per kernel (16 = 4-bit indices)
    init: Literal["kmeans++", "linear", "density", "random"] = "kmeans++"  # TF-MOT's default
    preserve_sparsity: bool = True   # TF-MOT sparsity-preserving clustering: zeros stay zeros
    epochs: int = -1                 # fine-tuning epochs; -1 = the track budget's finetune_epochs
    # Adam, as in TF-MOT's clustering guide: a centroid's gradient sums its whole cluster's, so SGD at the budget's
    # rate (0.01, momentum 0.9) moves the shared values far (digits-mlp after tfmot-prune: validation 0.93 -> 0.79)
    lr: float = 1e-4

    def __post_init__(self):
        check_clusters(self.clusters, "tfmot-cluster.clusters")
        check_choice(self.init, tuple(INITS), "tfmot-cluster.init")
        if self.epochs < -1:
            raise ConfigError(f"tfmot-cluster.epochs={self.epochs}: use -1 for the track budget or a count >= 0")
        if not self.lr > 0:
            raise ConfigError(f"tfmot-cluster.lr={self.lr} must be > 0 (Adam learning rate of the centroids)")


def keras_kernels(keras_model) -> list[tuple[str, object]]:
    """(conv<k> / fc<k>, kernel) of every Conv2D / Dense layer, named as the torch methods name them."""
    out, counts = [], {"conv": 0, "fc": 0}
    for layer in keras_model.layers:
        kind = {"Conv2D": "conv", "Dense": "fc"}.get(type(layer).__name__)
        if kind is not None:
            counts[kind] += 1
            out.append((f"{kind}{counts[kind]}", layer.get_weights()[0]))
    return out


@METHODS.register
class TfmotCluster(Method):
    name = "tfmot-cluster"
    family = "clustering"
    framework = "tensorflow"
    description = ("TF-MOT cluster_weights (sparsity-preserving, fine-tuned centroids, strip_clustering) on the "
                   "tf-keras model, exported to TFLite; compression (gzip), not speedup")
    formats = ("tflite",)
    Config = TfmotClusterConfig

    def apply(self, model, context):
        import os

        from methods.export.tflite_export import to_nhwc
        from suite.lazy import require

        if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
            raise ConfigError("tfmot-cluster needs tf-keras: set TF_USE_LEGACY_KERAS=1 before TensorFlow is imported "
                              "(the CLI, Makefile and tests do this)")
        cfg: TfmotClusterConfig = self.config
        epochs, epoch_info = resolve_epochs(cfg.epochs, context)
        tf = require("tensorflow", "tf")
        keras = require("tf_keras", "tf")
        tfmot = require("tensorflow_model_optimization", "tf")
        keras.utils.set_random_seed(context.seed)

        base = model.keras()
        xv, yv = to_nhwc(context.validation.x), context.validation.y
        has_validation = len(yv) > 0
        # before cluster_weights: it wraps `base`'s own layers, which then belong to the clustered graph
        before = _accuracy(base, xv, yv) if has_validation else None
        init = getattr(tfmot.clustering.keras.CentroidInitialization, INITS[cfg.init])
        if cfg.preserve_sparsity:
            # TF-MOT's sparsity-preserving clustering lives in clustering.keras.experimental.cluster (0.8.x does not
            # re-export it from the experimental package, so the module is imported by name)
            experimental = require("tensorflow_model_optimization.python.core.clustering.keras.experimental.cluster",
                                   "tf")
            clustered = experimental.cluster_weights(
                base, number_of_clusters=cfg.clusters, cluster_centroids_init=init, preserve_sparsity=True)
        else:
            clustered = tfmot.clustering.keras.cluster_weights(base, number_of_clusters=cfg.clusters,
                                                               cluster_centroids_init=init)
        lr = cfg.lr
        clustered.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        clustered_acc = (float(clustered.evaluate(xv, yv, batch_size=1000, verbose=0)[1]) if has_validation
                         else None)
        final_loss = None
        if epochs > 0:
            history = clustered.fit(to_nhwc(context.train.x), context.train.y, batch_size=int(context.budget.batch_size),
                                    epochs=epochs, shuffle=True, verbose=0)
            final_loss = round(float(history.history["loss"][-1]), 6)
        stripped = tfmot.clustering.keras.strip_clustering(clustered)
        report = cluster_report(keras_kernels(stripped))
        info = {"weight_sharing": f"TF-MOT cluster_weights ({INITS[cfg.init]} centroids"
                                  f"{', sparsity-preserving' if cfg.preserve_sparsity else ''}), strip_clustering",
                "init": cfg.init, "preserve_sparsity": cfg.preserve_sparsity, "finetune_lr": lr, **epoch_info,
                "final_train_loss": final_loss, "validation_accuracy_before": before,
                "validation_accuracy_clustered": clustered_acc,
                "validation_accuracy": _accuracy(stripped, xv, yv) if has_validation else None,
                "tensorflow": tf.__version__, **summary(report, cfg.clusters)}
        return context.export_keras(stripped, "tfmot-cluster", info)


def _accuracy(keras_model, x, y) -> float:
    logits = keras_model.predict(x, batch_size=1000, verbose=0)
    return round(float((logits.argmax(1) == y).mean()), 6)
