"""The compute-bound vision tracks: fashion-lenet5 and cifar10-resnet8 (checkpoint, exact ports, methods on a
small slice of the data; the full suites are `make test-slow` / `slimbench run --suite vision`)."""
import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("SLIMBENCH_DATA") or "/nonexistent")
requires_cifar_jpeg = pytest.mark.skipif(not (DATA / "cifar10-jpeg" / "cifar-10-jpeg.tar.gz").exists(),
                                         reason="cifar10-jpeg not in $SLIMBENCH_DATA (../shared/datasets)")
SLICE = 2000  # test images used by the fast tests


def test_tracks_are_registered_with_their_datasets():
    from suite.tracks import get_track

    fashion, cifar = get_track("fashion-lenet5"), get_track("cifar10-resnet8")
    assert fashion.dataset == "fashion-mnist" and fashion.input_shape == (1, 28, 28)
    assert type(fashion.build_torch()) is type(get_track("mnist-lenet5").build_torch())
    assert cifar.dataset == "cifar10-jpeg" and cifar.input_shape == (3, 32, 32)
    assert cifar.augmentation() is not None and fashion.augmentation() is None
    assert "random crop" in cifar.training_loop_info()["augmentation"]


def test_resnet8_has_the_mlperf_tiny_shape():
    from methods.pruning.channel import count_macs
    from suite.tracks import get_track
    from suite.tracks.torch_models import count_params

    track = get_track("cifar10-resnet8")
    model = track.build_torch()
    assert count_params(model)[0] == 77_946
    assert count_macs(model, (3, 32, 32)) == 12_501_632
    student = track.build_architecture("resnet8-half")
    assert count_params(student)[0] < count_params(model)[0] / 3


def test_committed_checkpoints_verify():
    from suite.tracks import get_track

    for name in ("cifar10-resnet8", "fashion-lenet5"):
        track = get_track(name)
        meta = track.meta
        assert meta["track"] == name and meta["dataset"] == track.dataset
        model = track.reference_torch()  # sha256-checked, weights_only
        assert model is not None
        assert 0 < track.reference_accuracy <= 1
    assert get_track("cifar10-resnet8").meta["recipe"]["augmentation"].startswith("random crop")


def test_resnet8_keras_port_is_exact_including_a_pruned_copy():
    """Folded batch norms and the explicit padding of stride-2 convs: Keras computes what torch computes."""
    import torch

    from methods.pruning.channel import prune_channels
    from suite.tracks.resnet8 import resnet8

    torch.manual_seed(0)
    model = resnet8().train()
    with torch.no_grad():  # non-trivial batch-norm statistics
        for _ in range(3):
            model(torch.rand(32, 3, 32, 32))
    model.eval()
    x = np.random.default_rng(0).random((8, 3, 32, 32), dtype=np.float32)
    for net in (model, prune_channels(model, (3, 32, 32), 0.5)[0]):
        with torch.no_grad():
            expected = net(torch.from_numpy(x)).numpy()
        got = net.to_keras()(x.transpose(0, 2, 3, 1)).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-4)


def _slice_track(monkeypatch, name: str, n_test: int = SLICE, n_train: int = 512):
    """The track with its splits cut to a slice (fast tests); the checkpoint is the committed one."""
    from suite.data.splits import DatasetSplits, Split
    from suite.tracks import TRACKS, get_track

    splits = get_track(name).load_splits()
    pick = lambda s, k: Split(s.x[:k], s.y[:k])  # noqa: E731
    step = len(splits._test) // n_test  # every k-th test image: the cifar10-jpeg test split is class-sorted
    test = Split(splits._test.x[::step][:n_test], splits._test.y[::step][:n_test])
    small = DatasetSplits(splits.name, pick(splits.train, n_train), pick(splits.validation, 256),
                          pick(splits.calibration, 256), test, splits.file_sha256, splits.num_classes)
    monkeypatch.setattr(TRACKS.get(name), "load_splits", lambda self: small)
    return small


@requires_cifar_jpeg
def test_resnet8_reference_forms_agree_on_test_predictions(tmp_path, monkeypatch):
    """ONNX (ORT), TFLite (LiteRT) and TorchScript forms of the reference agree on >= 99.5% of predictions."""
    from methods.baseline import Fp32
    from suite.context import make_context
    from suite.targets import get_target
    from suite.targets.base import to_layout
    from suite.tracks import get_track
    from suite.tracks.base import ReferenceModel

    splits = _slice_track(monkeypatch, "cifar10-resnet8")
    track = get_track("cifar10-resnet8")
    context = make_context(track, splits, 0, tmp_path / "work" / "forms", ("onnx", "tflite", "torchscript"))
    predictions = {}
    for artifact in Fp32().apply(ReferenceModel(track), context):
        runner = get_target({"onnx": "cpu", "tflite": "edge", "torchscript": "cpu-torch"}[artifact.format]).load(
            artifact)
        x = to_layout(splits.test.x, artifact.input_layout)
        predictions[artifact.format] = np.concatenate([runner.predict(x[i:i + 250]).argmax(1)
                                                       for i in range(0, len(x), 250)])
    torch_top1 = (predictions["torchscript"] == splits.test.y).mean()
    assert torch_top1 > 0.7  # a trained model, not random weights (10% chance)
    for a, b in (("onnx", "tflite"), ("onnx", "torchscript"), ("tflite", "torchscript")):
        assert (predictions[a] == predictions[b]).mean() >= 0.995, (a, b)


@requires_cifar_jpeg
@pytest.mark.parametrize("method,target", [("tflite-int8", "edge"), ("ort-int8-static", "cpu"),
                                           ("torch-int8-static", "cpu-torch")])
def test_int8_on_resnet8_keeps_accuracy_on_a_slice(method, target, quick_session, monkeypatch):
    from suite.harness import RunSpec

    _slice_track(monkeypatch, "cifar10-resnet8")
    record = quick_session.run(RunSpec("cifar10-resnet8", method, target))
    assert record["status"] == "ok", record.get("error")
    results = record["results"]
    assert results["accuracy_fp32"] > 0.7
    assert abs(results["accuracy_delta_pp"]) <= 2.0  # on 2,000 images; the full-split figure is in the records
    assert record["provenance"]["dataset"]["name"] == "cifar10-jpeg"
    assert "decoded/test_batch.bin" in record["provenance"]["dataset"]["sha256"]


@requires_cifar_jpeg
def test_torch_channel_on_resnet8_exports_physically_smaller_artifacts(method_context, monkeypatch):
    from methods.pruning.channel import TorchChannel
    from suite.tracks import get_track
    from suite.tracks.base import ReferenceModel

    _slice_track(monkeypatch, "cifar10-resnet8")
    _, ctx = method_context("cifar10-resnet8", formats=("onnx", "tflite", "torchscript"))
    from methods.baseline import Fp32

    full = {a.format: a.bytes for a in Fp32().apply(ReferenceModel(get_track("cifar10-resnet8")), ctx)}
    pruned = TorchChannel.from_params({"ratio": "0.5", "epochs": "0"}).apply(
        ReferenceModel(get_track("cifar10-resnet8")), ctx)
    assert {a.format for a in pruned} == {"onnx", "tflite", "torchscript"}
    for artifact in pruned:
        assert artifact.bytes < 0.4 * full[artifact.format], artifact.format
    info = pruned[0].info
    assert info["library"].startswith("torch-pruning ")
    assert info["macs_ratio"] < 0.3 and info["params_ratio"] < 0.3


def test_mlperf_tiny_card_judges_the_int8_floor_and_says_the_data_is_lossy():
    from suite.reproduce.mlperf_tiny import judge_floor
    from suite.reproduce.papers import load_card, paper_names

    assert "mlperf-tiny-ic" in paper_names()
    card = load_card("mlperf-tiny-ic")
    assert card["setup"] == {**card["setup"], "track": "cifar10-resnet8", "method": "tflite-int8", "target": "edge"}

    def record(acc):
        return {"results": {"accuracy": acc, "accuracy_fp32": 0.80, "accuracy_delta_pp": (acc - 0.80) * 100,
                            "test_samples": 10000},
                "provenance": {"dataset": {"name": "cifar10-jpeg"}},
                "config": {"target": "edge"}, "artifact": {"format": "tflite"}}

    assert judge_floor(card, record(0.851)).passed
    missed = judge_floor(card, record(0.79))
    assert not missed.passed
    assert any("lossy" in note for note in missed.notes)
    assert [c.passed for c in missed.checks] == [False, None, None]  # the floor is checked; the rest is context
