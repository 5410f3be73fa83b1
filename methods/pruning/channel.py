"""`torch-channel`: structured L1-norm filter / neuron pruning that physically removes channels.

For every Conv2d and every hidden Linear of an nn.Sequential (the output layer is kept whole), the output
channels (filters) or neurons with the smallest L1 norm of their weights are removed (Li et al. 2017,
"Pruning Filters for Efficient ConvNets"), together with the matching input slices of the next Conv2d/Linear
(through ReLU / MaxPool2d / Flatten). The result is a smaller *dense* model: fewer parameters and
multiply-accumulates, so dense kernels get faster, which the harness measures. It is then fine-tuned within
the track's budget. Done by hand (dependency-free) for the Sequential layer kinds the keras port supports."""
from __future__ import annotations

from dataclasses import dataclass

from methods import METHODS
from methods.base import Method
from methods.pruning.common import SPEEDUP_NOTE_STRUCTURED, finetune, resolve_epochs, validation_accuracy
from suite.errors import ConfigError

PASS_THROUGH = ("ReLU", "MaxPool2d", "Flatten", "Dropout", "Identity")


@dataclass(frozen=True)
class ChannelConfig:
    ratio: float = 0.5                      # fraction of channels/neurons removed from each prunable layer
    layer_ratio: tuple[float, ...] = ()     # one per prunable layer (every Conv2d + hidden Linear), overrides ratio
    epochs: int = -1                        # fine-tuning epochs; -1 = the track budget's finetune_epochs
    lr: float = 0.0                         # fine-tuning learning rate; 0 = the track budget's finetune_lr

    def __post_init__(self):
        for where, values in (("ratio", (self.ratio,)), ("layer_ratio", self.layer_ratio)):
            for r in values:
                if not 0.0 <= r < 1.0:
                    raise ConfigError(f"torch-channel.{where}={r} must be in [0, 1) (fraction of channels removed; "
                                      f"0.5 keeps half)")
        if self.epochs < -1:
            raise ConfigError(f"torch-channel.epochs={self.epochs}: use -1 for the track budget or a count >= 0")
        if self.lr < 0:
            raise ConfigError(f"torch-channel.lr={self.lr} must be >= 0 (0 = the track budget's finetune_lr)")


def _check_sequential(model):
    from torch import nn

    if not isinstance(model, nn.Sequential):
        raise ConfigError(f"torch-channel prunes nn.Sequential models; got {type(model).__name__}")
    for module in model:
        if isinstance(module, nn.Conv2d):
            if module.groups != 1:
                raise ConfigError(f"torch-channel does not support grouped convolutions ({module})")
        elif not isinstance(module, nn.Linear) and type(module).__name__ not in PASS_THROUGH:
            raise ConfigError(f"torch-channel cannot prune through {type(module).__name__}; supported: Conv2d, "
                              f"Linear, {', '.join(PASS_THROUGH)}")


def prunable_pairs(model) -> list[tuple[int, int]]:
    """(producer index, consumer index): each Conv2d/Linear followed, through pass-through layers, by another."""
    from torch import nn

    weighted = [i for i, m in enumerate(model) if isinstance(m, (nn.Conv2d, nn.Linear))]
    return list(zip(weighted[:-1], weighted[1:]))


def l1_keep(module, n_keep: int):
    """Indices (ascending) of the n_keep output channels with the largest L1 norm."""
    import torch

    norms = module.weight.detach().abs().flatten(1).sum(1)
    return torch.sort(torch.topk(norms, n_keep).indices).values


def prune_channels(model, ratios: list[float]):
    """A new nn.Sequential with channels removed; returns (model, per-layer report)."""
    import copy

    import torch
    from torch import nn

    modules = [copy.deepcopy(m) for m in model]
    pairs = prunable_pairs(model)
    report = {}
    counts = {"conv": 0, "fc": 0}
    for (p, c), ratio in zip(pairs, ratios):
        producer, consumer = modules[p], modules[c]
        kind = "conv" if isinstance(producer, nn.Conv2d) else "fc"
        counts[kind] += 1
        out = producer.weight.shape[0]
        keep_n = max(1, int(round((1.0 - ratio) * out)))
        keep = l1_keep(producer, keep_n)
        with torch.no_grad():
            if isinstance(producer, nn.Conv2d):
                new_p = nn.Conv2d(producer.in_channels, keep_n, producer.kernel_size, producer.stride,
                                  producer.padding, producer.dilation, 1, producer.bias is not None)
            else:
                new_p = nn.Linear(producer.in_features, keep_n, producer.bias is not None)
            new_p.weight.copy_(producer.weight[keep])
            if producer.bias is not None:
                new_p.bias.copy_(producer.bias[keep])
            # The consumer's inputs: a conv's input channels, a Linear's features (a flattened conv map gives
            # each channel a contiguous block of H*W features, in torch's C,H,W order).
            if isinstance(consumer, nn.Conv2d):
                new_c = nn.Conv2d(keep_n, consumer.out_channels, consumer.kernel_size, consumer.stride,
                                  consumer.padding, consumer.dilation, 1, consumer.bias is not None)
                new_c.weight.copy_(consumer.weight[:, keep])
            else:
                per_channel = consumer.in_features // out
                if per_channel * out != consumer.in_features:
                    raise ConfigError(f"torch-channel: {consumer} does not take {out} channels' features")
                cols = (keep[:, None] * per_channel + torch.arange(per_channel)[None, :]).flatten()
                new_c = nn.Linear(keep_n * per_channel, consumer.out_features, consumer.bias is not None)
                new_c.weight.copy_(consumer.weight[:, cols])
            if consumer.bias is not None:
                new_c.bias.copy_(consumer.bias)
        modules[p], modules[c] = new_p, new_c
        report[f"{kind}{counts[kind]}"] = {"channels_before": out, "channels_after": keep_n, "removed_ratio":
                                           round(1 - keep_n / out, 6)}
    return nn.Sequential(*modules).eval(), report


def count_macs(model, input_shape: tuple[int, ...]) -> int:
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
            model.eval()(torch.zeros((1, *input_shape)))
    finally:
        for h in handles:
            h.remove()
    return int(total)


@METHODS.register
class TorchChannel(Method):
    name = "torch-channel"
    family = "pruning"
    framework = "torch"
    description = ("Structured L1 filter/neuron pruning that physically removes channels (smaller, faster dense "
                   "model), then fine-tunes")
    formats = ("onnx", "tflite", "torchscript")
    Config = ChannelConfig

    def apply(self, model, context):
        from suite.tracks.torch_models import count_params

        cfg: ChannelConfig = self.config
        net = model.torch()
        _check_sequential(net)
        pairs = prunable_pairs(net)
        if not pairs:
            raise ConfigError("torch-channel: the model has a single weighted layer; nothing can be removed "
                              "without changing its outputs")
        if cfg.layer_ratio and len(cfg.layer_ratio) != len(pairs):
            raise ConfigError(f"torch-channel.layer_ratio has {len(cfg.layer_ratio)} entries; this model has "
                              f"{len(pairs)} prunable layers (every Conv2d/Linear but the output layer)")
        ratios = list(cfg.layer_ratio) or [cfg.ratio] * len(pairs)
        epochs, epoch_info = resolve_epochs(cfg.epochs, context)
        lr = cfg.lr or float(context.budget.finetune_lr)
        params_before = count_params(net)[0]
        macs_before = count_macs(net, context.input_shape)
        val_before = validation_accuracy(net, context)
        pruned, report = prune_channels(net, ratios)
        val_pruned = validation_accuracy(pruned, context)
        finetune(pruned, context, epochs, lr)
        params_after = count_params(pruned)[0]
        macs_after = count_macs(pruned, context.input_shape)
        info = {
            "pruning": "structured L1 (filters / neurons removed)", "criterion": "l1", "layers": report,
            "params_before": params_before, "params_after": params_after,
            "params_ratio": round(params_after / params_before, 6),
            "macs_before": macs_before, "macs_after": macs_after, "macs_ratio": round(macs_after / macs_before, 6),
            "validation_accuracy_before": val_before, "validation_accuracy_pruned": val_pruned,
            "validation_accuracy": validation_accuracy(pruned, context), "finetune_lr": lr, **epoch_info,
            "weight_bits": 32, "activation_bits": 32, "speedup_note": SPEEDUP_NOTE_STRUCTURED,
        }
        return context.export_torch(pruned, "torch-channel", info)
