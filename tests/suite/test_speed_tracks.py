"""Speed-only tracks (suite/tracks/speed.py): random weights, synthetic inputs, no accuracy.

The fast tests check the track contract (fixed seeds, no checkpoint, records without accuracy, methods that
need training refused, the suite matrix, the CLI table). The slow ones export each production architecture to
ONNX, TorchScript and LiteRT (litert-torch) and check that every form computes the same outputs as PyTorch
eager on the same random input."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from suite.harness import RunSpec, Session, training_refusal
from suite.measure.latency import QUICK
from suite.records.store import validate
from suite.tracks import TRACKS, get_track

SPEED_TRACKS = ["speed-resnet50", "speed-mobilenetv2", "speed-bert-base"]


def test_speed_tracks_are_registered_with_their_inputs():
    names = [t.name for t in TRACKS]
    for name in SPEED_TRACKS:
        assert name in names
        track = get_track(name)
        assert track.kind == "speed" and not track.has_keras_port and track.budget.finetune_epochs == 0
    assert get_track("speed-resnet50").input_shape == (3, 224, 224)
    assert get_track("speed-mobilenetv2").input_shape == (3, 224, 224)
    bert = get_track("speed-bert-base")
    assert bert.input_shape == (128,) and bert.input_dtype == "int64" and bert.num_classes == 2
    assert get_track("mnist-lenet5").kind == "accuracy"


def test_synthetic_inputs_are_fixed_seed_and_of_the_right_distribution():
    image, text = get_track("speed-mobilenetv2"), get_track("speed-bert-base")
    a, b = image.load_splits(), image.load_splits()
    assert np.array_equal(a.test.x, b.test.x) and a.test.x.dtype == np.float32
    assert a.test.x.shape == (64, 3, 224, 224) and len(a.train) == 0 and len(a.validation) == 0
    assert abs(float(a.test.x.mean())) < 0.01 and abs(float(a.test.x.std()) - 1) < 0.01  # normalised noise
    assert not np.array_equal(a.calibration.x, a.test.x[:len(a.calibration)])  # another seed
    ids = text.load_splits().test.x
    assert ids.dtype == np.int64 and ids.shape == (64, 128)
    assert (ids[:, 0] == 101).all() and (ids[:, -1] == 102).all()
    assert ids[:, 1:-1].min() >= 999 and ids[:, 1:-1].max() < 30522


def test_reference_weights_are_fixed_seed_without_a_checkpoint():
    track = get_track("speed-bert-base")
    assert not track.meta_path.exists()
    first = track.meta["sha256"]
    assert first == type(track)().meta["sha256"]  # the same seed builds the same weights
    assert track.meta["reference_accuracy"] is None


@pytest.mark.parametrize("method", ["kd-hinton", "student-scratch", "torch-qat", "tfmot-qat", "tfmot-prune",
                                    "keras-kd"])
def test_methods_that_need_training_refuse_speed_tracks(tmp_path, method):
    from methods import METHODS

    refusal = training_refusal(get_track("speed-mobilenetv2"), METHODS.get(method))
    assert refusal and "speed-only" in refusal and method in refusal
    assert training_refusal(get_track("mnist-lenet5"), METHODS.get(method)) is None
    session = Session(tmp_path / "store", settings=QUICK, workdir=tmp_path / "work", measure_memory=False)
    from suite.errors import ConfigError
    with pytest.raises(ConfigError, match="speed-only"):
        session.run(RunSpec("speed-mobilenetv2", method, "cpu"))
    assert not list((tmp_path / "store").glob("*.json"))  # refused before anything is recorded


def test_training_free_methods_are_allowed_on_speed_tracks():
    from methods import METHODS

    for method in ["fp32", "ort-int8-dynamic", "ort-int8-static", "torch-int8-static", "torch-int8-dynamic",
                   "tflite-int8", "tflite-dynamic-range", "tflite-fp16", "torch-channel"]:
        assert training_refusal(get_track("speed-resnet50"), METHODS.get(method)) is None


def test_speed_suite_runs_the_issue_matrix_on_every_target():
    from suite.suites import get_suite

    specs = get_suite("speed")
    assert {s.track for s in specs} == set(SPEED_TRACKS)
    methods = {s.method for s in specs}
    assert methods == {"fp32", "ort-int8-dynamic", "ort-int8-static", "torch-int8-static", "torch-int8-dynamic",
                       "tflite-int8", "tflite-dynamic-range", "tflite-fp16", "torch-channel"}
    assert {(s.track, s.method, s.target) for s in specs} >= {
        ("speed-bert-base", "ort-int8-dynamic", "cpu"), ("speed-mobilenetv2", "tflite-int8", "edge"),
        ("speed-resnet50", "torch-int8-static", "cpu-torch")}
    for target in ("cpu", "cpu-torch", "edge"):  # baselines first, the 1-thread edge runs last
        assert [s.method for s in specs if s.track == "speed-resnet50" and s.target == target][0] == "fp32"
    assert specs[0].target == "cpu" and (specs[-1].track, specs[-1].target) == ("speed-bert-base", "edge")


def test_speed_tracks_use_their_own_latency_settings_unless_the_session_sets_some(tmp_path):
    track = get_track("speed-resnet50")
    assert Session(tmp_path / "a").settings_for(track) == track.latency_settings
    assert Session(tmp_path / "b", settings=QUICK).settings_for(track) == QUICK
    assert Session(tmp_path / "c").settings_for(get_track("mnist-lenet5")) != track.latency_settings


def _speed_record() -> dict:
    """A published fp32 record re-labelled as a speed-track record (accuracy fields as the harness writes them)."""
    from suite.harness import accuracy_fields
    from suite.paths import REPO_ROOT
    from suite.records.store import finalize

    template = next(r for r in (json.loads(p.read_text()) for p in sorted((REPO_ROOT / "leaderboard/results").glob("*.json")))
                    if r["status"] == "ok" and r["config"]["method"] == "fp32")
    record = copy.deepcopy(template)
    record.pop("id")
    record["config"].update(track="speed-resnet50", track_kind="speed",
                            synthetic_inputs=get_track("speed-resnet50").synthetic_inputs)
    for key in ("accuracy", "accuracy_fp32", "accuracy_delta_pp"):
        record["results"].pop(key, None)
    record["results"].update(accuracy_fields(get_track("speed-resnet50"), 0.0, 0.0))
    return finalize(record)


def test_speed_records_validate_without_accuracy_and_must_say_why():
    from suite.errors import RecordError

    record = _speed_record()
    assert record["results"]["accuracy"] is None
    assert record["results"]["accuracy_null_reason"] == "random weights: speed, memory and size only"
    unexplained = copy.deepcopy(record)
    del unexplained["results"]["accuracy_null_reason"]
    with pytest.raises(RecordError):
        validate(unexplained)


def test_cli_table_shows_a_dash_and_keeps_speed_tracks_apart():
    from suite.report import format_table

    accuracy_record = json.loads(json.dumps(_speed_record()))
    accuracy_record["config"].update(track="mnist-lenet5", track_kind="accuracy")
    accuracy_record["results"].update(accuracy=0.99, accuracy_fp32=0.99, accuracy_delta_pp=0.0)
    table = format_table([_speed_record(), accuracy_record])
    accuracy_part, speed_part = table.split("speed-only tracks")
    assert "mnist-lenet5" in accuracy_part and "speed-resnet50" not in accuracy_part
    row = next(line for line in speed_part.splitlines() if line.startswith("speed-resnet50"))
    assert "—" in row and "99.00" in accuracy_part


# -- the forms agree ----------------------------------------------------------------------------------------
# Bound: max |form - eager| <= 1e-3 x max |eager| (+1e-6): fp32 kernels reorder sums (XNNPACK, MLAS, oneDNN) but
# must not change what the network computes. Random-init outputs can be tiny (MobileNetV2's are ~1e-9), so the
# bound is relative to the output's scale.
RELATIVE_BOUND = 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("track_name", SPEED_TRACKS)
def test_onnx_torchscript_and_litert_forms_agree_on_outputs(tmp_path, track_name):
    import torch

    from methods.base import MethodContext
    from suite.data.splits import Split
    from suite.targets import get_target
    from suite.targets.base import to_layout

    track = get_track(track_name)
    model = track.reference_torch()
    x = track.load_splits().calibration.x[:2]
    with torch.no_grad():
        eager = model(torch.from_numpy(x)).numpy()
    empty = Split(x[:0], np.zeros(0, dtype=np.int64))
    context = MethodContext(track=track.name, input_shape=track.input_shape, num_classes=track.num_classes,
                            train=empty, validation=empty, calibration=empty, budget=track.budget, seed=0,
                            workdir=tmp_path, formats=("onnx", "torchscript", "tflite"),
                            input_dtype=track.input_dtype, tflite_converter="litert-torch")
    artifacts = context.export_torch(model, "fp32")
    assert {a.format for a in artifacts} == {"onnx", "torchscript", "tflite"}
    scale = float(np.abs(eager).max())
    for artifact, target in zip(artifacts, ["cpu", "cpu-torch", "edge"]):
        assert artifact.format == {"cpu": "onnx", "cpu-torch": "torchscript", "edge": "tflite"}[target]
        runner = get_target(target).load(artifact)
        out = np.concatenate([runner.predict(to_layout(x[i:i + 1], artifact.input_layout)) for i in range(len(x))])
        diff = float(np.abs(out.astype(np.float64) - eager).max())
        assert out.shape == eager.shape
        assert diff <= RELATIVE_BOUND * scale + 1e-6, f"{track_name} {artifact.format}: max diff {diff} (scale {scale})"


def test_local_runs_hold_the_machine_lock_named_by_the_environment(tmp_path, monkeypatch):
    import fcntl

    from suite.executors.local import machine_lock

    lock = tmp_path / "cpu.lock"
    monkeypatch.setenv("SLIMBENCH_RUN_LOCK", str(lock))
    with machine_lock():
        with open(lock, "a") as other:  # another job taking the same lock must wait
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock, "a") as other:  # released after the run
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_torch_channel_prunes_a_hugging_face_encoders_ffn_neurons_only():
    """BERT's FFN up-projections lose half their neurons; hidden size and heads stay, and the model still runs."""
    import torch

    from methods.pruning.channel import count_macs, prune_channels, transformer_ffn_layers
    from suite.tracks.definitions import transformers_module

    transformers = transformers_module()
    config = transformers.BertConfig(vocab_size=200, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=64, num_labels=2, attn_implementation="eager")

    from suite.tracks.speed import _SequenceLogits

    torch.manual_seed(0)
    model = _SequenceLogits.build(config).eval()  # the wrapper speed-bert-base uses, at a tiny size
    ffn = transformer_ffn_layers(model)
    assert len(ffn) == 2
    macs = count_macs(model, (16,), "int64")
    pruned, report = prune_channels(model, (16,), 0.5, input_dtype="int64", only=ffn)
    assert [r["channels_after"] for r in report.values()] == [32, 32]
    assert all(m.out_features == 32 for m in transformer_ffn_layers(pruned))
    assert pruned.bert.bert.encoder.layer[0].output.dense.in_features == 32  # the coupled down-projection
    assert pruned.bert.config.hidden_size == 32 and count_macs(pruned, (16,), "int64") < macs
    assert pruned(torch.randint(0, 200, (2, 16))).shape == (2, 2)
