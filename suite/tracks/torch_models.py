"""Reference architectures in PyTorch, as nn.Sequential of a few layer kinds so that
`suite.tracks.keras_port` can rebuild any of them (pruned/channel-pruned variants included) in Keras."""
from __future__ import annotations


def mlp(sizes: list[int]):
    """Fully connected ReLU network: sizes = [in, hidden..., out]."""
    from torch import nn

    layers: list = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def lenet5_caffe(conv1: int = 20, conv2: int = 50, fc1: int = 500):
    """Caffe's LeNet-5 (examples/mnist/lenet.prototxt): conv-pool-conv-pool-ip-relu-ip.

    As in Caffe, the convolutions have no non-linearity; the only ReLU follows ip1.
    Defaults give 431,080 parameters."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, conv1, 5), nn.MaxPool2d(2, 2),
        nn.Conv2d(conv1, conv2, 5), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(conv2 * 4 * 4, fc1), nn.ReLU(), nn.Linear(fc1, 10),
    )


def count_params(model) -> tuple[int, int]:
    """(parameters, non-zero parameters) of a torch module."""
    total = nonzero = 0
    for p in model.parameters():
        total += p.numel()
        nonzero += int((p.detach() != 0).sum())
    return total, nonzero
