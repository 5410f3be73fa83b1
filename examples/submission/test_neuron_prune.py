"""The example submission's own test: `pytest examples/submission` (digits-mlp, seconds)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from neuron_prune import NeuronPrune, prune_hidden_neurons  # noqa: E402


def test_pruning_keeps_the_function_shape():
    from suite.tracks import get_track

    net = get_track("digits-mlp").reference_torch()
    assert prune_hidden_neurons(net, 0.5) == [[128, 64], [64, 32]]
    import torch
    assert net(torch.zeros(3, 64)).shape == (3, 10)


def test_bad_config_is_a_clear_error():
    from suite.errors import ConfigError
    with pytest.raises(ConfigError, match="keep_ratio"):
        NeuronPrune.from_params({"keep_ratio": "1.5"})


def test_apply_exports_a_smaller_accurate_model(tmp_path):
    from methods.base import MethodContext
    from suite.tracks import get_track
    from suite.tracks.base import ReferenceModel

    track = get_track("digits-mlp")
    splits = track.load_splits()
    context = MethodContext(track=track.name, input_shape=track.input_shape, num_classes=10, train=splits.train,
                            validation=splits.validation, calibration=splits.calibration, budget=track.budget,
                            seed=0, workdir=tmp_path, formats=("onnx",))
    (artifact,) = NeuronPrune.from_params({}).apply(ReferenceModel(track), context)
    assert artifact.format == "onnx" and artifact.path.is_file()
    assert artifact.params < 17226
    assert artifact.info["validation_accuracy"] > 0.9
