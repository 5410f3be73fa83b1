"""`torch-channel`: structured L1-norm filter / neuron pruning that physically removes channels, on Torch-Pruning.

The output channels (filters) or neurons with the smallest L1 norm of their weights are removed (Li et al. 2017,
"Pruning Filters for Efficient ConvNets"). Torch-Pruning (Fang et al. 2023, `torch-pruning`) traces the model's
dependency graph, so every layer coupled to a removed channel shrinks with it: the next layer's inputs, batch
norms, and both sides of a residual addition (a ResNet stack's channels are pruned as one group). The layer that
produces the model's output is kept whole. The result is a smaller *dense* model (fewer parameters and
multiply-accumulates, so dense kernels get faster, which the harness measures), fine-tuned within the track's
budget."""
from __future__ import annotations

from dataclasses import dataclass

from methods import METHODS
from methods.base import Method
from methods.pruning.common import SPEEDUP_NOTE_STRUCTURED, finetune, resolve_epochs, validation_accuracy
from suite.errors import ConfigError
from suite.lazy import require

LIBRARY = "torch-pruning"


@dataclass(frozen=True)
class ChannelConfig:
    ratio: float = 0.5                      # fraction of channels/neurons removed from each prunable layer
    layer_ratio: tuple[float, ...] = ()     # one per prunable layer (every Conv2d + hidden Linear), overrides ratio
    epochs: int = -1                        # fine-tuning epochs; -1 = the track budget's finetune_epochs
    lr: float = 0.0                         # fine-tuning learning rate; 0 = the track budget's finetune_lr

    def __post_init__(self):
        for where, values in (("ratio", (self.ratio,)), ("layer_ratio", self.layer_ratio)):
            for r in values:
                if not 0.0 <= r < 1.0:  # also refuses NaN (every comparison with NaN is False)
                    raise ConfigError(f"torch-channel.{where}={r} must be in [0, 1) (fraction of channels removed; "
                                      f"0.5 keeps half)")
        if self.epochs < -1:
            raise ConfigError(f"torch-channel.epochs={self.epochs}: use -1 for the track budget or a count >= 0")
        if not self.lr >= 0:
            raise ConfigError(f"torch-channel.lr={self.lr} must be >= 0 (0 = the track budget's finetune_lr)")


def weighted_layers(model) -> list:
    """Every Conv2d / Linear in module order."""
    from torch import nn
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def output_layers(model, graph) -> list:
    """The layers whose output channels are the model's outputs (kept whole): found in Torch-Pruning's traced
    dependency graph of `model`, not by position."""
    outputs = []
    for layer in weighted_layers(model):
        node = graph.module2node.get(layer)
        if node is not None and not node.outputs:  # nothing consumes it: it is the model's output
            outputs.append(layer)
    return outputs or weighted_layers(model)[-1:]


def _example(input_shape: tuple[int, ...], input_dtype: str = "float32"):
    import torch
    return torch.zeros((1, *input_shape), dtype=getattr(torch, input_dtype))


def transformer_ffn_layers(model) -> list:
    """The feed-forward up-projections of a Hugging Face encoder (`*.intermediate.dense`): their neurons are
    coupled only to the matching down-projection's inputs, so removing them keeps the hidden size and the
    attention heads' shapes intact. (Pruning q/k/v or the hidden size needs head-aware coupling that the
    per-layer L1 loop below does not do.)"""
    from torch import nn
    return [m for name, m in model.named_modules() if isinstance(m, nn.Linear) and name.endswith("intermediate.dense")]


def prune_channels(model, input_shape: tuple[int, ...], ratios: list[float] | float, input_dtype: str = "float32",
                   only: list | None = None):
    """Prune `model` in place with Torch-Pruning; ratios: one per prunable layer (weighted layers but the output
    ones, in module order) or one for all. Returns (model, per-layer report).

    Layers are taken in module order, as Li et al. do: each layer's filters are ranked by the L1 norm of its
    current weights (inputs already removed upstream no longer count), and Torch-Pruning removes the weakest
    together with everything coupled to them. A layer whose channels were already removed as part of an earlier
    layer's group (the other side of a residual addition) is not pruned again: a group follows its first layer's
    ratio and ranking."""
    tp = require("torch_pruning", "torch")
    import torch
    from torch import nn

    model.eval()
    graph = tp.DependencyGraph().build_dependency(model, example_inputs=_example(input_shape, input_dtype))
    ignored = output_layers(model, graph)
    prunable = [m for m in (only if only is not None else weighted_layers(model)) if m not in ignored]
    if not prunable:
        raise ConfigError("torch-channel: the model has a single weighted layer; nothing can be removed without "
                          "changing its outputs")
    if isinstance(ratios, (int, float)):
        ratios = [float(ratios)] * len(prunable)
    if len(ratios) != len(prunable):
        raise ConfigError(f"torch-channel.layer_ratio has {len(ratios)} entries; this model has {len(prunable)} "
                          f"prunable layers (every Conv2d/Linear but the output layer)")
    names = _layer_names(model)
    before = {m: _out_channels(m) for m in prunable}
    out_handlers = (tp.prune_conv_out_channels, tp.prune_linear_out_channels)
    handled: set = set()
    for module, ratio in zip(prunable, ratios):
        if module in handled:
            continue
        n = _out_channels(module)
        keep_n = max(1, int(round((1.0 - ratio) * n)))
        if keep_n == n:
            continue
        norms = module.weight.detach().abs().flatten(1).sum(1)
        keep = set(torch.topk(norms, keep_n).indices.tolist())
        remove = [i for i in range(n) if i not in keep]
        handler = tp.prune_conv_out_channels if isinstance(module, nn.Conv2d) else tp.prune_linear_out_channels
        group = graph.get_pruning_group(module, handler, idxs=remove)
        if any(dep.target.module in ignored for dep, _ in group if dep.handler in out_handlers):
            continue  # coupled to the output layer: removing these channels would change the model's outputs
        for dep, _ in group:
            if dep.handler in out_handlers:
                handled.add(dep.target.module)
        group.prune()
    report = {}
    for module in prunable:
        after = _out_channels(module)
        report[names[module]] = {"channels_before": before[module], "channels_after": after,
                                 "removed_ratio": round(1 - after / before[module], 6)}
    return model.eval(), report


def _out_channels(module) -> int:
    return int(module.weight.shape[0])


def _layer_names(model) -> dict:
    """conv1, conv2, ..., fc1, ... in module order (the names records have always used)."""
    from torch import nn

    names, counts = {}, {"conv": 0, "fc": 0}
    for module in weighted_layers(model):
        kind = "conv" if isinstance(module, nn.Conv2d) else "fc"
        counts[kind] += 1
        names[module] = f"{kind}{counts[kind]}"
    return names


def count_macs(model, input_shape: tuple[int, ...], input_dtype: str = "float32") -> int:
    """Multiply-accumulates of one sample through the Conv2d/Linear layers."""
    import torch
    from torch import nn

    total = 0

    def hook(module, _inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += output.numel() * (module.in_channels // module.groups) * kh * kw
        else:
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.inference_mode():
            model.eval()(_example(input_shape, input_dtype))
    finally:
        for h in handles:
            h.remove()
    return int(total)


@METHODS.register
class TorchChannel(Method):
    name = "torch-channel"
    family = "pruning"
    framework = "torch"
    description = ("Structured L1 filter/neuron pruning on Torch-Pruning (follows residual connections): removes "
                   "channels physically (smaller, faster dense model), then fine-tunes")
    formats = ("onnx", "tflite", "torchscript")
    Config = ChannelConfig

    def apply(self, model, context):
        from importlib.metadata import version

        from suite.tracks.torch_models import count_params

        cfg: ChannelConfig = self.config
        net = model.torch()
        only, scope = None, "every Conv2d / Linear but the output layer"
        if context.input_dtype != "float32":  # token ids: a transformer encoder
            only, scope = transformer_ffn_layers(net), "transformer FFN up-projections (intermediate.dense) only"
            if not only:
                raise ConfigError(f"torch-channel prunes vision/MLP models and Hugging Face encoders' FFN neurons; "
                                  f"the model of track {context.track!r} ({context.input_dtype} inputs) has no "
                                  f"`intermediate.dense` layers")
        epochs, epoch_info = resolve_epochs(cfg.epochs, context)
        lr = cfg.lr or float(context.budget.finetune_lr)
        params_before = count_params(net)[0]
        macs_before = count_macs(net, context.input_shape, context.input_dtype)
        val_before = validation_accuracy(net, context)
        pruned, report = prune_channels(net, context.input_shape, list(cfg.layer_ratio) or cfg.ratio,
                                        input_dtype=context.input_dtype, only=only)
        val_pruned = validation_accuracy(pruned, context)
        finetune(pruned, context, epochs, lr)
        params_after = count_params(pruned)[0]
        macs_after = count_macs(pruned, context.input_shape, context.input_dtype)
        info = {
            "pruning": "structured L1 (filters / neurons removed)", "criterion": "l1",
            "library": f"{LIBRARY} {version(LIBRARY)}", "layers": report, "pruned_layers": scope,
            "params_before": params_before, "params_after": params_after,
            "params_ratio": round(params_after / params_before, 6),
            "macs_before": macs_before, "macs_after": macs_after, "macs_ratio": round(macs_after / macs_before, 6),
            "validation_accuracy_before": val_before, "validation_accuracy_pruned": val_pruned,
            "validation_accuracy": validation_accuracy(pruned, context), "finetune_lr": lr, **epoch_info,
            "weight_bits": 32, "activation_bits": 32, "speedup_note": SPEEDUP_NOTE_STRUCTURED,
        }
        return context.export_torch(pruned, "torch-channel", info)
