"""MLPerf Tiny image-classification ResNet-8 in PyTorch, and its exact tf-keras port.

Architecture (MLPerf Tiny `resnet_v1_eembc`): conv3x3(16)-BN-ReLU, then three residual stacks of 16 / 32 / 64
filters (two conv3x3-BN per stack; stacks 2 and 3 downsample with stride 2 and a 1x1 stride-2 conv shortcut),
global 8x8 average pool, Dense(10). 77,946 parameters at full width (MLPerf's Keras count, 78,666, adds
conv biases in front of the batch norms, which a BN absorbs, and the BN moving statistics), 12.5 M MACs per
32x32x3 image.

The port reads every layer's shape from the torch modules, so a channel-pruned copy (Torch-Pruning shrinks the
convolutions in place) ports as it is. Batch norms are folded into the convolutions (eval statistics), and the
stride-2 3x3 convolutions get an explicit symmetric ZeroPadding2D(1) so that Keras computes exactly what torch's
padding=1 does (Keras 'same' would pad only bottom/right)."""
from __future__ import annotations

from functools import lru_cache

from suite.lazy import require


@lru_cache(maxsize=None)
def _block_cls():
    from torch import nn

    class ResidualStack(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            # MLPerf Tiny: identity shortcut in stack 1, a 1x1 strided conv (with bias, no BN) where shapes change.
            self.shortcut = nn.Conv2d(cin, cout, 1, stride, 0) if (stride != 1 or cin != cout) else None
            self.relu2 = nn.ReLU()

        def forward(self, x):
            y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
            skip = x if self.shortcut is None else self.shortcut(x)
            return self.relu2(skip + y)

    return ResidualStack


def resnet8(widths: tuple[int, int, int] = (16, 32, 64), num_classes: int = 10):
    """ResNet-8 with the given stack widths ((8, 16, 32) is the half-width distillation student)."""
    from torch import nn

    return _resnet8_cls()(tuple(widths), num_classes)


@lru_cache(maxsize=None)
def _resnet8_cls():
    from torch import nn

    stack_cls = _block_cls()

    class ResNet8(nn.Module):
        def __init__(self, widths, num_classes):
            super().__init__()
            w1, w2, w3 = widths
            self.conv = nn.Conv2d(3, w1, 3, 1, 1, bias=False)
            self.bn = nn.BatchNorm2d(w1)
            self.relu = nn.ReLU()
            self.stack1 = stack_cls(w1, w1, 1)
            self.stack2 = stack_cls(w1, w2, 2)
            self.stack3 = stack_cls(w2, w3, 2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(w3, num_classes)

        def forward(self, x):
            x = self.relu(self.bn(self.conv(x)))
            x = self.stack3(self.stack2(self.stack1(x)))
            return self.fc(self.flatten(self.pool(x)))

        def to_keras(self):
            return resnet8_to_keras(self)

    return ResNet8


def _fold(conv, bn):
    """(kernel HWIO, bias) of conv followed by eval-mode BN (or the conv alone when bn is None)."""
    import numpy as np

    w = conv.weight.detach().cpu().numpy().astype(np.float64)
    b = conv.bias.detach().cpu().numpy().astype(np.float64) if conv.bias is not None else np.zeros(w.shape[0])
    if bn is not None:
        scale = bn.weight.detach().cpu().numpy() / np.sqrt(bn.running_var.detach().cpu().numpy() + bn.eps)
        b = (b - bn.running_mean.detach().cpu().numpy()) * scale + bn.bias.detach().cpu().numpy()
        w = w * scale[:, None, None, None]
    return w.transpose(2, 3, 1, 0).astype(np.float32), b.astype(np.float32)


def resnet8_to_keras(model):
    """A functional tf-keras model computing what `model` (eval mode) computes, NHWC input."""
    keras = require("tf_keras", "tf")
    layers = keras.layers
    weights: list[tuple] = []

    def conv(x, module, bn, name):
        kernel, bias = _fold(module, bn)
        stride = module.stride[0]
        pad = module.padding[0]
        if pad and stride == 1:
            padding = "same"  # symmetric for odd kernels at stride 1: identical to torch's padding
        else:
            if pad:
                x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
            padding = "valid"
        layer = layers.Conv2D(kernel.shape[-1], module.kernel_size, strides=stride, padding=padding, name=name)
        weights.append((layer, [kernel, bias]))
        return layer(x)

    inputs = keras.Input(shape=(32, 32, model.conv.in_channels), name="input")
    x = layers.ReLU(name="stem_relu")(conv(inputs, model.conv, model.bn, "stem_conv"))
    for i, stack in enumerate((model.stack1, model.stack2, model.stack3), start=1):
        y = layers.ReLU(name=f"s{i}_relu1")(conv(x, stack.conv1, stack.bn1, f"s{i}_conv1"))
        y = conv(y, stack.conv2, stack.bn2, f"s{i}_conv2")
        skip = x if stack.shortcut is None else conv(x, stack.shortcut, None, f"s{i}_shortcut")
        x = layers.ReLU(name=f"s{i}_relu2")(layers.Add(name=f"s{i}_add")([skip, y]))
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    dense = layers.Dense(model.fc.out_features, name="fc")
    out = dense(x)
    keras_model = keras.Model(inputs, out, name="resnet8")
    for layer, values in weights:
        layer.set_weights(values)
    dense.set_weights([model.fc.weight.detach().cpu().numpy().T, model.fc.bias.detach().cpu().numpy()])
    return keras_model
