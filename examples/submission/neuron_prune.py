"""An example SlimBench submission: structured neuron pruning of fully connected layers.

Every hidden fully connected layer keeps the `keep_ratio` fraction of its neurons with the largest
L1 importance (incoming + outgoing weights); the next layer loses the matching inputs. The smaller
dense model is fine-tuned for the track budget's epochs on the train split and exported to every
format the target needs. Dense, smaller matrices: the size and the speed gains are real on every
runtime, no sparse kernel needed.

Run it:  slimbench run --track digits-mlp --method examples/submission/neuron_prune.py:NeuronPrune --target cpu
Submit:  slimbench submit examples/submission/neuron_prune.py:NeuronPrune --tracks digits-mlp --out bundle.tar.gz
"""
from __future__ import annotations

from dataclasses import dataclass

from methods.base import Method
from suite.errors import ConfigError


@dataclass(frozen=True)
class NeuronPruneConfig:
    keep_ratio: float = 0.5   # fraction of each hidden layer's neurons that stays
    finetune: bool = True     # fine-tune for budget.finetune_epochs after pruning

    def __post_init__(self):
        if not 0.0 < self.keep_ratio <= 1.0:
            raise ConfigError(f"keep_ratio={self.keep_ratio!r} must be in (0, 1]")


class NeuronPrune(Method):
    name = "example-neuron-prune"
    family = "pruning"
    framework = "torch"
    description = "Example submission: L1 structured neuron pruning of hidden FC layers + fine-tuning"
    formats = ("onnx", "tflite", "torchscript")
    Config = NeuronPruneConfig

    def apply(self, model, context):
        # Framework imports stay inside apply (SlimBench rule: `slimbench list` must not import torch).
        from suite.tracks.torch_models import count_params
        from suite.tracks.training import TrainRecipe, accuracy_torch, fit

        net = model.torch()
        before = count_params(net)[0]
        widths = prune_hidden_neurons(net, self.config.keep_ratio)
        if self.config.finetune and context.budget.finetune_epochs > 0:
            recipe = TrainRecipe(epochs=context.budget.finetune_epochs, lr=context.budget.finetune_lr,
                                 batch_size=context.budget.batch_size, seed=context.seed)
            fit(net, context.train.x, context.train.y, recipe)
        info = {"keep_ratio": self.config.keep_ratio, "hidden_widths": widths, "params_before": before,
                "validation_accuracy": accuracy_torch(net, context.validation.x, context.validation.y),
                "finetune_epochs": context.budget.finetune_epochs if self.config.finetune else 0}
        return context.export_torch(net, "neuron-prune", info=info)


def prune_hidden_neurons(net, keep_ratio: float) -> list[list[int]]:
    """Shrink every Linear whose outputs feed (through element-wise activations only) another Linear.
    Returns [before, after] widths of each pruned layer. Modifies the nn.Sequential in place."""
    import torch
    from torch import nn

    elementwise = (nn.ReLU, nn.ReLU6, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Dropout)
    linear_at = [i for i, layer in enumerate(net) if isinstance(layer, nn.Linear)]
    widths = []
    for a, b in zip(linear_at[:-1], linear_at[1:]):
        if not all(isinstance(net[i], elementwise) for i in range(a + 1, b)):
            continue
        first, second = net[a], net[b]
        keep_n = max(1, round(keep_ratio * first.out_features))
        importance = first.weight.detach().abs().sum(1) + second.weight.detach().abs().sum(0)
        keep = importance.topk(keep_n).indices.sort().values
        new_first = nn.Linear(first.in_features, keep_n)
        new_second = nn.Linear(keep_n, second.out_features)
        with torch.no_grad():
            new_first.weight.copy_(first.weight[keep])
            new_first.bias.copy_(first.bias[keep])
            new_second.weight.copy_(second.weight[:, keep])
            new_second.bias.copy_(second.bias)
        widths.append([first.out_features, keep_n])
        net[a], net[b] = new_first, new_second
    return widths
