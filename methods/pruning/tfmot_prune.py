"""`tfmot-prune`: TensorFlow Model Optimization's `prune_low_magnitude` on the tf-keras port of the reference.

The Keras model (same weights as the torch reference, `model.keras()`) is wrapped with
`tfmot.sparsity.keras.prune_low_magnitude` under a `PolynomialDecay` schedule (0 -> `sparsity` over the first
three quarters of the fine-tuning steps), trained with the `UpdatePruningStep` callback within the track's
budget, unwrapped with `strip_pruning` and converted to TFLite (`context.export_keras`, which in a chain also hands the
stripped Keras model to the next stage). Zeros stay zeros in the flatbuffer's
weights, so the gain is storage (gzip size); LiteRT's dense kernels do not skip them (see `speedup_note`)."""
from __future__ import annotations

from dataclasses import dataclass

from methods import METHODS
from methods.base import Method
from methods.pruning.common import SPEEDUP_NOTE_UNSTRUCTURED, resolve_epochs
from suite.errors import ConfigError


@dataclass(frozen=True)
class TfmotPruneConfig:
    sparsity: float = 0.9   # final sparsity of every Dense/Conv2D kernel (tfmot prunes kernels, not biases)
    epochs: int = -1        # fine-tuning epochs; -1 = the track budget's finetune_epochs (must end up >= 1)
    lr: float = 0.0         # SGD (momentum 0.9) learning rate; 0 = the track budget's finetune_lr
    end_fraction: float = 0.75  # PolynomialDecay reaches the final sparsity at this fraction of the steps

    def __post_init__(self):
        if not 0.0 <= self.sparsity < 1.0:
            raise ConfigError(f"tfmot-prune.sparsity={self.sparsity} must be in [0, 1)")
        if self.epochs < -1:
            raise ConfigError(f"tfmot-prune.epochs={self.epochs}: use -1 for the track budget or a count >= 1")
        if self.lr < 0:
            raise ConfigError(f"tfmot-prune.lr={self.lr} must be >= 0 (0 = the track budget's finetune_lr)")
        if not 0.0 < self.end_fraction <= 1.0:
            raise ConfigError(f"tfmot-prune.end_fraction={self.end_fraction} must be in (0, 1]")


def keras_layer_report(keras_model) -> dict[str, dict]:
    """Per Dense/Conv2D kernel: weights, non-zeros, sparsity (names conv<k> / fc<k> as in the torch methods)."""
    import numpy as np

    out, counts = {}, {"conv": 0, "fc": 0}
    for layer in keras_model.layers:
        kind = {"Conv2D": "conv", "Dense": "fc"}.get(type(layer).__name__)
        if kind is None:
            continue
        counts[kind] += 1
        kernel = layer.get_weights()[0]
        n, nz = int(kernel.size), int(np.count_nonzero(kernel))
        out[f"{kind}{counts[kind]}"] = {"shape": list(kernel.shape), "weights": n, "nonzero": nz,
                                        "sparsity": round(1 - nz / n, 6), "kept": round(nz / n, 6)}
    return out


@METHODS.register
class TfmotPrune(Method):
    name = "tfmot-prune"
    needs_training = True
    family = "pruning"
    framework = "tensorflow"
    description = ("TF-MOT prune_low_magnitude (PolynomialDecay, UpdatePruningStep, strip_pruning) on the tf-keras "
                   "port, exported to TFLite")
    formats = ("tflite",)
    Config = TfmotPruneConfig

    def apply(self, model, context):
        import math

        import numpy as np

        from methods.export.tflite_export import to_nhwc
        from suite.lazy import require

        cfg: TfmotPruneConfig = self.config
        epochs, epoch_info = resolve_epochs(cfg.epochs, context)
        if epochs < 1:
            raise ConfigError("tfmot-prune prunes during training (UpdatePruningStep); it needs >= 1 fine-tuning "
                              "epoch, but the budget/config gives 0")
        tf = require("tensorflow", "tf")
        keras = require("tf_keras", "tf")
        tfmot = require("tensorflow_model_optimization", "tf")
        keras.utils.set_random_seed(context.seed)

        x, y = to_nhwc(context.train.x), context.train.y
        xv, yv = to_nhwc(context.validation.x), context.validation.y
        batch = int(context.budget.batch_size)
        steps = epochs * math.ceil(len(y) / batch)
        end = max(1, int(cfg.end_fraction * steps))
        schedule = tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.0, final_sparsity=cfg.sparsity,
                                                        begin_step=0, end_step=end, frequency=max(1, end // 30))
        base = model.keras()
        pruned = tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=schedule)
        lr = cfg.lr or float(context.budget.finetune_lr)
        pruned.compile(optimizer=keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        history = pruned.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0,
                             callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
        stripped = tfmot.sparsity.keras.strip_pruning(pruned)
        val_logits = stripped.predict(xv, batch_size=1000, verbose=0)
        report = keras_layer_report(stripped)
        weights = sum(r["weights"] for r in report.values())
        nonzero_weights = sum(r["nonzero"] for r in report.values())
        all_weights = [w for w in stripped.get_weights()]
        params = int(sum(w.size for w in all_weights))
        nonzero = int(sum(np.count_nonzero(w) for w in all_weights))
        info = {
            "pruning": "tfmot prune_low_magnitude (kernels only)", "schedule": "PolynomialDecay",
            "schedule_end_step": end, "total_steps": steps, "target_sparsity": cfg.sparsity,
            "sparsity": round(1 - nonzero_weights / weights, 6), "weights": weights,
            "nonzero_weights": nonzero_weights, "weights_kept": round(nonzero_weights / weights, 6),
            "weight_compression_x": round(weights / max(1, nonzero_weights), 3), "layers": report,
            "validation_accuracy": round(float((val_logits.argmax(1) == yv).mean()), 6),
            "final_train_loss": round(float(history.history["loss"][-1]), 6), "finetune_lr": lr, **epoch_info,
            "weight_bits": 32, "activation_bits": 32, "tensorflow": tf.__version__,
            "speedup_note": SPEEDUP_NOTE_UNSTRUCTURED,
        }
        # export_keras: the TFLite flatbuffer, and in a chain the stripped Keras model is handed to the next stage
        artifacts = context.export_keras(stripped, "tfmot-prune", info, params=(params, nonzero))
        return artifacts[0] if len(artifacts) == 1 else artifacts
