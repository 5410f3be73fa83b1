"""Port a PyTorch nn.Sequential (Flatten / Linear / ReLU / Conv2d / MaxPool2d) to an identical tf-keras model.

Methods in both frameworks start from the *same* reference weights: the Keras model is rebuilt from the
torch one, never retrained. Keras is channels-last, so conv kernels are transposed and the first Linear
after a Flatten of a feature map has its input features re-ordered from (C, H, W) to (H, W, C).

`keras_to_torch` is the reverse (a tf-keras Sequential of the same layer kinds back to torch), which lets a
chain hand a Keras stage's model (TF-MOT pruning or clustering) to a PyTorch stage (methods/chain.py)."""
from __future__ import annotations

import numpy as np

from suite.lazy import require


def torch_to_keras(model, input_shape: tuple[int, ...]):
    """input_shape: per-sample torch shape, (C, H, W) or (F,). Returns a tf_keras.Sequential."""
    keras = require("tf_keras", "tf")
    from torch import nn

    if hasattr(model, "to_keras"):  # a model that ports itself (the text Transformer: suite/tracks/text_keras.py)
        return model.to_keras()
    if len(input_shape) == 3:
        c, h, w = input_shape
        keras_input = (h, w, c)
    else:
        keras_input = tuple(input_shape)
    layers, weights = [keras.layers.InputLayer(input_shape=keras_input)], []
    shape = tuple(input_shape)  # running torch shape of the activation
    flattened_from: tuple[int, int, int] | None = None
    for module in model:
        if isinstance(module, nn.Flatten):
            flattened_from = shape if len(shape) == 3 else None
            layers.append(keras.layers.Flatten())
            shape = (int(np.prod(shape)),)
        elif isinstance(module, nn.Linear):
            kernel = module.weight.detach().cpu().numpy()  # (out, in)
            if flattened_from is not None:
                c_, h_, w_ = flattened_from
                kernel = kernel.reshape(-1, c_, h_, w_).transpose(0, 2, 3, 1).reshape(kernel.shape[0], -1)
                flattened_from = None
            layers.append(keras.layers.Dense(module.out_features, use_bias=module.bias is not None))
            weights.append([kernel.T] + ([module.bias.detach().cpu().numpy()] if module.bias is not None else []))
            shape = (module.out_features,)
        elif isinstance(module, nn.ReLU):
            layers.append(keras.layers.ReLU())
        elif isinstance(module, nn.Conv2d):
            if module.padding not in ((0, 0), 0, "valid") or module.groups != 1 or module.dilation != (1, 1):
                raise ValueError(f"keras_port supports only valid, ungrouped, undilated convs, got {module}")
            kernel = module.weight.detach().cpu().numpy().transpose(2, 3, 1, 0)  # (kh, kw, in, out)
            layers.append(keras.layers.Conv2D(module.out_channels, module.kernel_size, strides=module.stride,
                                              padding="valid", use_bias=module.bias is not None))
            weights.append([kernel] + ([module.bias.detach().cpu().numpy()] if module.bias is not None else []))
            _, h_, w_ = shape
            kh, kw = module.kernel_size
            sh, sw = module.stride
            shape = (module.out_channels, (h_ - kh) // sh + 1, (w_ - kw) // sw + 1)
        elif isinstance(module, nn.MaxPool2d):
            k = module.kernel_size if isinstance(module.kernel_size, tuple) else (module.kernel_size,) * 2
            s = module.stride if isinstance(module.stride, tuple) else (module.stride,) * 2
            layers.append(keras.layers.MaxPooling2D(pool_size=k, strides=s, padding="valid"))
            c_, h_, w_ = shape
            shape = (c_, (h_ - k[0]) // s[0] + 1, (w_ - k[1]) // s[1] + 1)
        else:
            raise ValueError(f"keras_port cannot port layer {type(module).__name__}")
    keras_model = keras.Sequential(layers)
    trainable = [layer for layer in keras_model.layers if layer.weights]
    for layer, values in zip(trainable, weights):
        layer.set_weights(values)
    return keras_model



# Keras layer kinds the reverse port rebuilds (exactly what torch_to_keras emits for an nn.Sequential).
REVERSE_PORT_LAYERS = ("InputLayer", "Flatten", "Dense", "ReLU", "Conv2D", "MaxPooling2D")


def keras_to_torch(keras_model, input_shape: tuple[int, ...]):
    """The inverse of torch_to_keras: a tf-keras Sequential of Flatten / Dense / ReLU / Conv2D / MaxPooling2D
    (the reference architectures, pruned or clustered, students included) -> an identical torch nn.Sequential.
    Conv kernels go back from (kh, kw, in, out) to (out, in, kh, kw), and the first Dense after a Flatten of a
    feature map has its input features re-ordered from (H, W, C) back to (C, H, W). input_shape: per-sample
    torch shape. A model outside this set (a functional graph such as ResNet-8's, the text Transformer)
    raises ValueError naming the layer: such a track has no reverse port."""
    from torch import nn

    keras = require("tf_keras", "tf")
    if not isinstance(keras_model, keras.Sequential):
        raise ValueError(f"the reverse keras->torch port handles tf-keras Sequential models of "
                         f"{', '.join(REVERSE_PORT_LAYERS[1:])}; got a {type(keras_model).__name__}")
    modules: list = []
    shape = tuple(input_shape)  # running torch shape
    flattened_from: tuple[int, int, int] | None = None
    for layer in keras_model.layers:
        kind = type(layer).__name__
        weights = layer.get_weights()
        if kind == "InputLayer":
            continue
        if kind == "Flatten":
            flattened_from = shape if len(shape) == 3 else None
            modules.append(nn.Flatten())
            shape = (int(np.prod(shape)),)
        elif kind == "Dense":
            kernel = weights[0].T  # (out, in)
            if flattened_from is not None:
                c_, h_, w_ = flattened_from
                kernel = kernel.reshape(-1, h_, w_, c_).transpose(0, 3, 1, 2).reshape(kernel.shape[0], -1)
                flattened_from = None
            linear = nn.Linear(kernel.shape[1], kernel.shape[0], bias=len(weights) > 1)
            _assign(linear, kernel, weights[1] if len(weights) > 1 else None)
            modules.append(linear)
            modules += _activation(layer)
            shape = (kernel.shape[0],)
        elif kind == "ReLU":
            if layer.max_value is not None or float(layer.negative_slope) != 0.0 or float(layer.threshold) != 0.0:
                raise ValueError(f"the reverse port handles plain ReLU only, not {layer.name}'s configuration")
            modules.append(nn.ReLU())
        elif kind == "Conv2D":
            if layer.padding != "valid" or tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
                raise ValueError(f"the reverse port handles valid, ungrouped, undilated Conv2D only ({layer.name})")
            kernel = weights[0].transpose(3, 2, 0, 1)  # (out, in, kh, kw)
            conv = nn.Conv2d(kernel.shape[1], kernel.shape[0], tuple(layer.kernel_size), stride=tuple(layer.strides),
                             bias=len(weights) > 1)
            _assign(conv, kernel, weights[1] if len(weights) > 1 else None)
            modules.append(conv)
            modules += _activation(layer)
            _, h_, w_ = shape
            (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
            shape = (kernel.shape[0], (h_ - kh) // sh + 1, (w_ - kw) // sw + 1)
        elif kind == "MaxPooling2D":
            if layer.padding != "valid":
                raise ValueError(f"the reverse port handles valid MaxPooling2D only ({layer.name})")
            k, s = tuple(layer.pool_size), tuple(layer.strides)
            modules.append(nn.MaxPool2d(k, s))
            c_, h_, w_ = shape
            shape = (c_, (h_ - k[0]) // s[0] + 1, (w_ - k[1]) // s[1] + 1)
        else:
            raise ValueError(f"the reverse keras->torch port cannot port layer {layer.name!r} ({kind}); it handles "
                             f"{', '.join(REVERSE_PORT_LAYERS[1:])}")
    return nn.Sequential(*modules).eval()


def _assign(module, weight: np.ndarray, bias: np.ndarray | None) -> None:
    import torch

    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32)))
        if bias is not None:
            module.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias, dtype=np.float32)))


def _activation(layer) -> list:
    """A Dense/Conv2D's fused activation as torch modules (the port emits separate ReLU layers; linear = none)."""
    from torch import nn

    name = getattr(getattr(layer, "activation", None), "__name__", "linear")
    if name == "linear":
        return []
    if name == "relu":
        return [nn.ReLU()]
    raise ValueError(f"the reverse port cannot port activation {name!r} of layer {layer.name!r}")


def clone_keras(keras_model):
    """A fresh copy of a tf-keras model with the same weights (safe to modify, like ReferenceModel.keras())."""
    keras = require("tf_keras", "tf")
    copy = keras.models.clone_model(keras_model)
    copy.set_weights(keras_model.get_weights())
    return copy
