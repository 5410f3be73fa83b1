"""`torch-magnitude`: unstructured magnitude pruning in PyTorch (Han et al. 2015; Zhu & Gupta 2017).

Weights (never biases) of every Conv2d/Linear layer with the smallest |w| are set to zero, either per layer
(`scope=layer`, one sparsity for all layers or `layer_sparsity` per layer) or against one threshold across
all layers (`scope=global`). Schedules:

- `oneshot`:   prune to the target once, then fine-tune with the mask fixed;
- `gradual`:   Zhu & Gupta's polynomial schedule s_t = s_f (1 - (1 - t/T_end)^3) applied every few steps
               during fine-tuning, the last quarter of the steps at the final sparsity;
- `iterative`: Han et al.'s prune -> retrain loop, `iterations` rounds whose targets follow the same
               polynomial, the fine-tuning epochs shared out between rounds.

Masks are re-applied after every optimiser step (`fit(after_step=...)`), so pruned weights stay exactly zero
in the exported ONNX / TFLite / TorchScript initialisers: the artifact's gzip size shows the compression.
Dense kernels do not skip zeros, so this is reported as compression, not speedup (see `speedup_note`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from methods import METHODS
from methods.base import Method, check_choice
from methods.pruning.common import (SPEEDUP_NOTE_UNSTRUCTURED, finetune, layer_report, overall_weight_sparsity,
                                    prunable_layers, resolve_epochs, validation_accuracy)
from suite.errors import ConfigError

SCOPES = ("layer", "global")
SCHEDULES = ("oneshot", "gradual", "iterative")


@dataclass(frozen=True)
class MagnitudeConfig:
    sparsity: float = 0.9                   # fraction of weights set to zero (per layer, or overall if global)
    # Defaults measured on MNIST at 90%: one global threshold + fine-tuning at the reference recipe's rate
    # move accuracy by -0.16 / +0.07 pp (lenet300 / lenet5); per-layer at the budget's 0.01: -0.87 / -0.72 pp.
    scope: Literal["layer", "global"] = "global"
    schedule: Literal["oneshot", "gradual", "iterative"] = "gradual"
    layer_sparsity: tuple[float, ...] = ()  # one per Conv2d/Linear in order (overrides sparsity; scope=layer)
    iterations: int = 3                     # prune/retrain rounds (schedule=iterative)
    epochs: int = -1                        # fine-tuning epochs in all; -1 = the track budget's finetune_epochs
    lr: float = 0.0                         # fine-tuning learning rate; 0 = the track's reference recipe lr

    def __post_init__(self):
        check_choice(self.scope, SCOPES, "torch-magnitude.scope")
        check_choice(self.schedule, SCHEDULES, "torch-magnitude.schedule")
        if not 0.0 <= self.sparsity < 1.0:
            raise ConfigError(f"torch-magnitude.sparsity={self.sparsity} must be in [0, 1) (fraction of weights "
                              f"set to zero; 0.9 keeps 10%)")
        for s in self.layer_sparsity:
            if not 0.0 <= s < 1.0:
                raise ConfigError(f"torch-magnitude.layer_sparsity has {s}; each entry must be in [0, 1)")
        if self.layer_sparsity and self.scope == "global":
            raise ConfigError("torch-magnitude.layer_sparsity sets per-layer targets; it needs scope=layer, "
                              "not scope=global")
        if self.iterations < 1:
            raise ConfigError(f"torch-magnitude.iterations={self.iterations} must be >= 1")
        if self.epochs < -1:
            raise ConfigError(f"torch-magnitude.epochs={self.epochs}: use -1 for the track budget or a count >= 0")
        if self.lr < 0:
            raise ConfigError(f"torch-magnitude.lr={self.lr} must be >= 0 (0 = the track's reference "
                              f"training lr)")


def polynomial_sparsity(final: float, progress: float, power: int = 3) -> float:
    """Zhu & Gupta (2017): 0 at progress 0, `final` at progress >= 1, fast early and slow late."""
    progress = min(max(progress, 0.0), 1.0)
    return final * (1.0 - (1.0 - progress) ** power)


def magnitude_masks(layers, targets: list[float] | None, global_sparsity: float | None):
    """Keep-masks (1 = keep) with the smallest |w| zeroed: per layer (targets) or one global threshold."""
    import torch

    masks = []
    with torch.no_grad():
        if global_sparsity is not None:
            flat = torch.cat([layer.weight.detach().abs().flatten() for layer in layers])
            keep = int(round((1.0 - global_sparsity) * flat.numel()))
            keep_flat = torch.zeros_like(flat, dtype=torch.bool)
            if keep > 0:
                keep_flat[torch.topk(flat, keep, sorted=False).indices] = True
            offset = 0
            for layer in layers:
                n = layer.weight.numel()
                masks.append(keep_flat[offset:offset + n].view_as(layer.weight).to(layer.weight.dtype))
                offset += n
        else:
            for layer, sparsity in zip(layers, targets):
                w = layer.weight.detach().abs().flatten()
                keep = int(round((1.0 - sparsity) * w.numel()))
                mask = torch.zeros_like(w, dtype=torch.bool)
                if keep > 0:
                    mask[torch.topk(w, keep, sorted=False).indices] = True
                masks.append(mask.view_as(layer.weight).to(layer.weight.dtype))
    return masks


class MaskedModel:
    """Holds the current keep-masks and applies them (after pruning and after every optimiser step)."""

    def __init__(self, layers, config: MagnitudeConfig):
        self.layers = layers
        self.config = config
        self.final = self._final_targets()
        self.masks = None

    def _final_targets(self) -> list[float]:
        cfg = self.config
        if cfg.layer_sparsity:
            if len(cfg.layer_sparsity) != len(self.layers):
                names = ", ".join(layer.name for layer in self.layers)
                raise ConfigError(f"torch-magnitude.layer_sparsity has {len(cfg.layer_sparsity)} entries; this "
                                  f"model has {len(self.layers)} prunable layers ({names})")
            return list(cfg.layer_sparsity)
        return [cfg.sparsity] * len(self.layers)

    def prune_to(self, progress: float) -> None:
        """Prune to the schedule's sparsity at `progress` in [0, 1] of the way to the final targets."""
        if self.config.scope == "global":
            self.masks = magnitude_masks(self.layers, None, polynomial_sparsity(self.config.sparsity, progress))
        else:
            self.masks = magnitude_masks(self.layers, [polynomial_sparsity(s, progress) for s in self.final], None)
        self.apply()

    def apply(self, _step: int | None = None) -> None:
        import torch

        if self.masks is None:
            return
        with torch.no_grad():
            for layer, mask in zip(self.layers, self.masks):
                layer.weight.mul_(mask)


@METHODS.register
class TorchMagnitude(Method):
    name = "torch-magnitude"
    family = "pruning"
    framework = "torch"
    description = ("Unstructured magnitude pruning (layer-wise or global; one-shot, gradual or iterative) with "
                   "masked fine-tuning; compression, not speedup, on dense kernels")
    formats = ("onnx", "tflite", "torchscript")
    Config = MagnitudeConfig
    in_default_suite = True

    def apply(self, model, context):
        import math

        cfg: MagnitudeConfig = self.config
        net = model.torch()
        layers = prunable_layers(net)
        masked = MaskedModel(layers, cfg)
        epochs, epoch_info = resolve_epochs(cfg.epochs, context)
        # Zeroing 90% of the weights is a large step away from the optimum; recovering from it needs the rate
        # the reference was trained at, not the gentle finetune_lr that suits quantization-aware fine-tuning.
        lr = cfg.lr or float(model.track.recipe.lr)
        info = {"pruning": "unstructured magnitude (weights only; biases kept)", "scope": cfg.scope,
                "schedule": cfg.schedule, "finetune_lr": lr,
                "finetune_lr_source": "config" if cfg.lr else "track reference recipe", **epoch_info,
                "validation_accuracy_before": validation_accuracy(net, context)}
        schedule = cfg.schedule
        if epochs == 0 and schedule != "oneshot":
            info["schedule_note"] = f"{schedule} needs fine-tuning epochs; with 0 epochs this is one-shot pruning"
            schedule = "oneshot"
        info["schedule_effective"] = schedule

        if schedule == "oneshot":
            masked.prune_to(1.0)
            finetune(net, context, epochs, lr, after_step=masked.apply)
        elif schedule == "gradual":
            steps = epochs * math.ceil(len(context.train) / context.budget.batch_size)
            end = max(1, int(0.75 * steps))        # last quarter at the final sparsity, to recover
            every = max(1, end // 30)              # ~30 pruning updates
            masked.prune_to(0.0)

            def after_step(step: int) -> None:
                if step % every == 0 and step <= end:
                    masked.prune_to(step / end)
                else:
                    masked.apply()
            finetune(net, context, epochs, lr, after_step=after_step)
            masked.prune_to(1.0)  # exact final targets, whatever the step arithmetic
            info.update(prune_every_steps=every, prune_end_step=end, total_steps=steps)
        else:  # iterative: prune -> retrain, `iterations` rounds
            rounds = cfg.iterations
            if epochs < rounds:
                raise ConfigError(f"torch-magnitude: schedule=iterative with {rounds} iterations needs at least "
                                  f"{rounds} fine-tuning epochs, got {epochs}; lower iterations or raise epochs")
            per_round = [epochs // rounds + (1 if k < epochs % rounds else 0) for k in range(rounds)][::-1]
            history = []
            for k in range(1, rounds + 1):
                masked.prune_to(k / rounds)
                pruned_acc = validation_accuracy(net, context)
                finetune(net, context, per_round[k - 1], lr, after_step=masked.apply, seed_offset=k)
                report = layer_report(layers)
                history.append({"iteration": k, "epochs": per_round[k - 1],
                                "sparsity": round(overall_weight_sparsity(report)[2], 6),
                                "validation_accuracy_pruned": pruned_acc,
                                "validation_accuracy_retrained": validation_accuracy(net, context)})
            info["iterations"] = history

        masked.apply()
        report = layer_report(layers)
        weights, nonzero_weights, sparsity = overall_weight_sparsity(report)
        info.update({
            "target_sparsity": cfg.sparsity if cfg.scope == "global" else
            {layer.name: s for layer, s in zip(layers, masked.final)},
            "sparsity": round(sparsity, 6), "weights": weights, "nonzero_weights": nonzero_weights,
            "weights_kept": round(nonzero_weights / weights, 6),
            "weight_compression_x": round(weights / max(1, nonzero_weights), 3),
            "layers": report, "validation_accuracy": validation_accuracy(net, context),
            "weight_bits": 32, "activation_bits": 32, "speedup_note": SPEEDUP_NOTE_UNSTRUCTURED,
        })
        return context.export_torch(net, "torch-magnitude", info)
