"""Port a PyTorch nn.Sequential (Flatten / Linear / ReLU / Conv2d / MaxPool2d) to an identical tf-keras model.

Methods in both frameworks start from the *same* reference weights: the Keras model is rebuilt from the
torch one, never retrained. Keras is channels-last, so conv kernels are transposed and the first Linear
after a Flatten of a feature map has its input features re-ordered from (C, H, W) to (H, W, C)."""
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

