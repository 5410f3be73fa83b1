"""The harness end to end: records, baselines, failures, clear errors."""
import json

import numpy as np
import pytest

from suite.errors import ArtifactFormatError, TargetUnavailableError, UnknownNameError
from suite.harness import RunSpec
from suite.records.store import validate
from tests.conftest import requires_mnist


@pytest.mark.parametrize("field, value, kind", [
    ("track", "mnist-lenet7", "track"), ("method", "magic-quant", "method"), ("target", "tpu", "target")])
def test_unknown_names_list_the_valid_ones(quick_session, field, value, kind):
    spec = {"track": "digits-mlp", "method": "fp32", "target": "cpu", field: value}
    with pytest.raises(UnknownNameError) as err:
        quick_session.run(RunSpec(**spec))
    message = str(err.value)
    assert f"unknown {kind} {value!r}" in message
    valid = {"track": "digits-mlp", "method": "fp32", "target": "edge"}[kind]
    assert valid in message
    assert not quick_session.store.paths()  # nothing written


def test_unavailable_gpu_target_skips_cleanly(quick_session):
    from suite.targets import get_target
    if get_target("gpu").unavailable_reason() is None:
        pytest.skip("a GPU is available here")
    with pytest.raises(TargetUnavailableError, match="gpu"):
        quick_session.run(RunSpec("digits-mlp", "fp32", "gpu"))


def test_target_rejects_a_format_it_cannot_run(method_context):
    from methods.baseline import Fp32
    from suite.targets import get_target
    from suite.tracks.base import ReferenceModel

    track, context = method_context("digits-mlp", formats=("onnx",))
    (onnx_artifact,) = Fp32().apply(ReferenceModel(track), context)
    with pytest.raises(ArtifactFormatError, match="cannot run a 'onnx' artifact"):
        get_target("edge").load(onnx_artifact)


@pytest.mark.parametrize("target", ["cpu", "edge", "cpu-torch"])
def test_fp32_run_writes_a_valid_record(quick_session, target):
    record = quick_session.run(RunSpec("digits-mlp", "fp32", target))
    validate(record)
    res = record["results"]
    assert record["status"] == "ok", record.get("error")
    assert res["speedup_single_stream"] == 1.0
    assert res["latency_single_stream"]["n_queries"] >= quick_session.settings.min_queries
    assert res["size"]["params"] == 17226
    assert record["artifact"]["format"] == {"cpu": "onnx", "edge": "tflite", "cpu-torch": "torchscript"}[target]


def test_a_raising_method_gives_a_failed_record_with_traceback(quick_session, tmp_path):
    method_file = tmp_path / "boom.py"
    method_file.write_text(
        "from methods.base import Method\n"
        "class Boom(Method):\n"
        "    name, family, framework, description = 'boom', 'quantization', 'torch', 'raises'\n"
        "    formats = ('onnx',)\n"
        "    def apply(self, model, context):\n"
        "        raise RuntimeError('calibration exploded')\n")
    record = quick_session.run(RunSpec("digits-mlp", f"{method_file}:Boom", "cpu"))
    assert record["status"] == "failed"
    assert record["error"]["phase"] == "method"
    assert "calibration exploded" in record["error"]["message"]
    assert "Traceback" in record["error"]["traceback"]
    validate(record)
    # the session goes on
    assert quick_session.run(RunSpec("digits-mlp", "fp32", "cpu"))["status"] == "ok"


def test_a_method_reading_the_test_split_fails(quick_session, tmp_path):
    method_file = tmp_path / "peek.py"
    method_file.write_text(
        "from methods.base import Method\n"
        "from suite.tracks import get_track\n"
        "class Peek(Method):\n"
        "    name, family, framework, description = 'peek', 'quantization', 'torch', 'reads test'\n"
        "    formats = ('onnx',)\n"
        "    def apply(self, model, context):\n"
        "        x = get_track(context.track).load_splits().test.x\n"
        "        return context.export_torch(model.torch(), 'peek')\n")
    record = quick_session.run(RunSpec("digits-mlp", f"{method_file}:Peek", "cpu"))
    assert record["status"] == "failed"
    # Submitted code runs in the sandbox, where no dataset file exists: the read fails there (the in-process
    # guard, TestSplitAccessError, covers built-in methods).
    assert record["error"]["type"] == "SubmittedMethodError"
    assert "TestSplitAccessError" in record["error"]["message"] or "No such file" in record["error"]["message"]


def test_bad_method_config_gives_a_failed_record(quick_session):
    record = quick_session.run(RunSpec("digits-mlp", "fp32", "cpu", params={"bits": "3"}))
    assert record["status"] == "failed" and record["error"]["phase"] == "config"
    assert "unknown parameter(s) bits" in record["error"]["message"]


@requires_mnist
def test_lenet5_fp32_on_edge_equals_the_reference_accuracy(quick_session):
    """Acceptance: the edge record's accuracy equals the track's reference accuracy, recomputed here."""
    from suite.tracks import get_track
    from suite.tracks.training import accuracy_torch

    track = get_track("mnist-lenet5")
    splits = track.load_splits()
    recomputed = accuracy_torch(track.reference_torch(), splits.test.x, splits.test.y)
    assert recomputed == pytest.approx(track.reference_accuracy, abs=1e-12)
    record = quick_session.run(RunSpec("mnist-lenet5", "fp32", "edge"))
    validate(record)
    assert record["results"]["accuracy"] == pytest.approx(recomputed, abs=1e-12)


@requires_mnist
def test_onnx_tflite_and_torch_forms_agree_on_test_predictions(method_context):
    """Acceptance: the three deployment forms of the reference agree on >= 99.9% of test predictions."""
    from methods.baseline import Fp32
    from suite.measure.accuracy import predict_all
    from suite.targets import get_target
    from suite.targets.base import to_layout
    from suite.tracks.base import ReferenceModel
    from suite.tracks.training import predict_torch

    track, context = method_context("mnist-lenet5")
    test = track.load_splits().test
    reference = predict_torch(track.reference_torch(), test.x)
    artifacts = Fp32().apply(ReferenceModel(track), context)
    target_of = {"onnx": "cpu", "tflite": "edge", "torchscript": "cpu-torch"}
    assert sorted(a.format for a in artifacts) == sorted(target_of)
    for artifact in artifacts:
        runner = get_target(target_of[artifact.format]).load(artifact)
        preds = predict_all(runner, to_layout(test.x, artifact.input_layout))
        agreement = float((preds == reference).mean())
        assert agreement >= 0.999, (artifact.format, agreement)


def test_run_targets_applies_the_method_once_and_records_each_target(quick_session):
    """submit trains once per track (issue 19): one application exports every target's format."""
    applied = []
    real = quick_session.applier

    class Counting:
        def __getattr__(self, name):
            return getattr(real, name)

        def apply(self, session, method, track, context, spec):
            applied.append(context.formats)
            return real.apply(session, method, track, context, spec)

    quick_session.applier = Counting()
    records = quick_session.run_targets(RunSpec("digits-mlp", "torch-magnitude", "", params={"sparsity": 0.5}),
                                        ["cpu", "edge", "cpu-torch"])
    assert applied == [("onnx", "tflite", "torchscript")]
    assert [r["config"]["target"] for r in records] == ["cpu", "edge", "cpu-torch"]
    assert [r["artifact"]["format"] for r in records] == ["onnx", "tflite", "torchscript"]
    for record in records:
        validate(record)
        assert record["status"] == "ok", record.get("error")
        assert record["config"]["applied_once_for_targets"] == ["cpu", "edge", "cpu-torch"]
        assert "--target " + record["config"]["target"] in record["config"]["command"]
    # one trained model: the three artifacts hold the same weights, hence the same sparsity
    assert len({r["results"]["size"]["nonzero_params"] for r in records}) == 1


def test_run_targets_checks_every_target_before_anything_runs(quick_session):
    with pytest.raises(ArtifactFormatError, match="edge"):
        quick_session.run_targets(RunSpec("digits-mlp", "ort-int8-dynamic", ""), ["cpu", "edge"])
    assert not quick_session.store.paths()
