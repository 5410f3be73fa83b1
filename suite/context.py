"""`make_context`: the one way to build the MethodContext a method is applied with (the harness, the isolated
worker and tests all call it), so that every method sees the same data, budget and export settings."""
from __future__ import annotations

from pathlib import Path


def make_context(track, splits, seed: int, workdir: Path, formats, budget=None, device: str = "cpu"):
    """A MethodContext for `track`: its train/validation splits, the calibration split cut to the budget's
    calibration_samples, the budget (the track's unless given), and how TFLite artifacts are built
    (the tf-keras port where the track has one, else PyTorch -> LiteRT). `splits` is anything with
    train/validation/calibration Splits (a DatasetSplits; the worker's arrays)."""
    from methods.base import MethodContext
    from suite.data.splits import Split

    budget = budget if budget is not None else track.budget
    calib, n = splits.calibration, budget.calibration_samples
    return MethodContext(
        track=track.name, input_shape=tuple(track.input_shape), num_classes=track.num_classes,
        train=splits.train, validation=splits.validation, calibration=Split(calib.x[:n], calib.y[:n]),
        budget=budget, seed=int(seed), workdir=Path(workdir), formats=tuple(formats), device=device,
        input_dtype=getattr(track, "input_dtype", "float32"),
        tflite_converter="keras-port" if track.has_keras_port else "litert-torch")
