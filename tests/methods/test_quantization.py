"""Quantization adapters on digits-mlp (fast): every adapter's artifact runs in its target, info records the
quantization facts, calibration reads only the calibration split, bad configs give failed records."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from tests.conftest import requires_mnist

QUANT_METHODS = {
    "ort-int8-dynamic": ("cpu",),
    "ort-int8-static": ("cpu",),
    "tflite-int8": ("edge",),
    "tflite-dynamic-range": ("edge",),
    "tflite-fp16": ("edge",),
    "tfmot-qat": ("edge",),
    "torch-int8-static": ("cpu-torch", "cpu"),
    "torch-int8-dynamic": ("cpu-torch",),
    "torch-qat": ("cpu-torch", "cpu"),
}
RUNS = [(m, t) for m, targets in QUANT_METHODS.items() for t in targets]
DIGITS_PARAMS = 17_226
INT8 = {"ort-int8-dynamic", "ort-int8-static", "tflite-int8", "tfmot-qat", "torch-int8-static", "torch-qat"}


def _as_list(out):
    return out if isinstance(out, list) else [out]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One quick session for the module: fp32 baselines are built once per target."""
    from suite.harness import Session
    from suite.measure.latency import QUICK

    root = tmp_path_factory.mktemp("quant")
    return Session(root / "store", settings=QUICK, workdir=root / "work", measure_memory=False)


def test_registry_lists_every_quantization_method():
    from methods import METHODS
    from methods.base import FAMILIES

    quant = {m.name: m for m in METHODS if m.family == "quantization"}
    assert set(QUANT_METHODS) <= set(quant)
    for name, cls in quant.items():
        assert cls.family in FAMILIES and cls.framework in ("torch", "tensorflow", "onnxruntime")
        assert cls.description and "\n" not in cls.description
        assert set(cls.formats) <= {"onnx", "tflite", "torchscript"}
        cls.from_params({})  # the default config is valid
    assert sorted(n for n, c in quant.items() if c.in_default_suite) == ["ort-int8-static", "tflite-int8"]


def test_quantization_suite_covers_every_method_on_every_target_that_runs_it():
    from suite.suites import get_suite

    specs = get_suite("quantization")
    got = {(s.track, s.method, s.target) for s in specs}
    for track in ("mnist-lenet300", "mnist-lenet5"):
        for method, targets in QUANT_METHODS.items():
            for target in targets:
                assert (track, method, target) in got
        assert (track, "fp32", "edge") in got
    assert ("mnist-lenet5", "torch-int8-dynamic", "cpu") not in got  # TorchScript only


@pytest.mark.parametrize("method,target", RUNS)
def test_adapter_artifact_runs_in_its_target(session, method, target):
    from suite.records.store import load_record  # noqa: F401  (records validate on write)
    from suite.harness import RunSpec
    from suite.targets import get_target

    record = session.run(RunSpec("digits-mlp", method, target))
    assert record["status"] == "ok", record.get("error", {}).get("traceback")
    assert record["artifact"]["format"] in get_target(target).formats
    results = record["results"]
    # 360 test digits: one sample is 0.28 pp. Quantizing this MLP costs at most a couple of samples.
    assert abs(results["accuracy_delta_pp"]) <= 1.2, results["accuracy_delta_pp"]
    assert results["prediction_agreement_fp32"] >= 0.98
    info = results["method_info"]
    for key in ("weight_bits", "activation_bits", "granularity", "calibration_samples", "calibration_method"):
        assert key in info, key
    assert info["weight_bits"] in (8, 16)
    size = results["size"]
    assert size["params"] == size["nonzero_params"] == DIGITS_PARAMS  # counted on the float model quantized
    assert size["compression_ratio"] > (2.5 if method in INT8 and target != "cpu-torch" else 1.5)
    if method in INT8:
        assert info["activation_bits"] == 8
    if info["calibration_method"] not in ("none", "none (dynamic)"):
        assert info["calibration_samples"] == 256  # digits budget: calibration_samples=256
    for key in ("speedup_single_stream", "speedup_offline"):
        assert results[key] > 0
    if results["speedup_single_stream"] < 1.0:  # a batch-1 slowdown is shown, not hidden
        assert any("slower than fp32" in note for note in results["notes"])


def test_ort_static_calibration_reader_yields_exactly_the_calibration_split(method_context):
    from methods.quantization.ort import _CalibrationReader

    _, context = method_context("digits-mlp", formats=("onnx",))
    reader = _CalibrationReader(context.calibration.x)
    for _ in range(2):  # entropy/percentile calibrators rewind and read twice
        batches = []
        while (item := reader.get_next()) is not None:
            batches.append(item["input"])
        np.testing.assert_array_equal(np.concatenate(batches), context.calibration.x)
        reader.rewind()


@pytest.mark.parametrize("calibration_method", ["entropy", "percentile"])
def test_ort_static_other_calibration_methods(session, calibration_method):
    from suite.harness import RunSpec

    record = session.run(RunSpec("digits-mlp", "ort-int8-static", "cpu",
                                 params={"calibration_method": calibration_method}))
    assert record["status"] == "ok", record.get("error", {}).get("traceback")
    assert record["results"]["method_info"]["calibration_method"].startswith(calibration_method)
    assert abs(record["results"]["accuracy_delta_pp"]) <= 1.2


def test_int8_onnx_artifacts_use_ort_int8_kernels(method_context):
    """QDQ graphs must fuse into integer kernels in ORT (not stay as float ops between Q/DQ pairs)."""
    import onnx
    import onnxruntime as ort

    from methods import METHODS
    from suite.tracks.base import ReferenceModel

    track, context = method_context("digits-mlp", formats=("onnx",))
    for name in ("ort-int8-static", "torch-int8-static", "ort-int8-dynamic"):
        [artifact] = [a for a in _as_list(METHODS.get(name)().apply(ReferenceModel(track), context))
                      if a.format == "onnx"]
        graph = onnx.load(str(artifact.path)).graph
        producers = {out: node.op_type for node in graph.node for out in node.output}
        assert not [n for n in graph.node if n.op_type == "Cast" and producers.get(n.input[0]) == "QuantizeLinear"]
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(context.workdir / f"{name}-optimized.onnx")
        ort.InferenceSession(str(artifact.path), options, providers=["CPUExecutionProvider"])
        ops = {n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node}
        assert ops & {"QGemm", "QLinearMatMul", "QLinearConv", "DynamicQuantizeMatMul", "MatMulInteger"}, ops
        assert "Gemm" not in ops and "MatMul" not in ops, ops


BAD_CONFIGS = [
    ("ort-int8-static", {"calibration_method": "kl-divergence"}, "calibration_method='kl-divergence' is not supported"),
    ("ort-int8-static", {"weight_bits": "3"}, "weight_bits=3 is not supported; choose one of: 8"),
    ("ort-int8-dynamic", {"weight_type": "int4"}, "'int4' is not one of int8, uint8"),
    ("tflite-int8", {"activation_bits": "3"}, "activation_bits=3 is not supported"),
    ("tflite-fp16", {"weight_bits": "8"}, "weight_bits=8 is not supported; choose one of: 16"),
    ("tfmot-qat", {"lr": "-1"}, "tfmot-qat.lr must be a positive number"),
    ("torch-int8-static", {"calibration_method": "entropy"}, "choose one of: histogram, minmax"),
    ("torch-int8-dynamic", {"weight_bits": "4"}, "weight_bits=4 is not supported"),
    ("torch-qat", {"backend": "qnnpack"}, "torch-qat.backend='qnnpack' is not supported"),
    ("torch-qat", {"nonsense": "1"}, "unknown parameter(s) nonsense"),
]


@pytest.mark.parametrize("method,params,message", BAD_CONFIGS)
def test_bad_config_gives_clear_error_and_failed_record(quick_session, method, params, message):
    from methods import METHODS
    from suite.errors import ConfigError
    from suite.harness import RunSpec

    with pytest.raises(ConfigError) as exc:
        METHODS.get(method).from_params(params)
    assert message in str(exc.value)
    target = QUANT_METHODS[method][0]
    record = quick_session.run(RunSpec("digits-mlp", method, target, params=params))
    assert record["status"] == "failed"
    assert record["error"]["type"] == "ConfigError" and record["error"]["phase"] == "config"
    assert message in record["error"]["message"]
    assert len(list(quick_session.store.root.rglob("*.json"))) == 1


def test_epochs_over_budget_fail_with_clear_message(quick_session):
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "torch-qat", "cpu-torch", params={"epochs": "6"}))
    assert record["status"] == "failed" and record["error"]["type"] == "ConfigError"
    assert "epochs=6 exceeds the digits-mlp budget of 5 fine-tune epoch(s)" in record["error"]["message"]


def test_bad_config_in_a_suite_does_not_stop_the_rest(quick_session, monkeypatch, capsys):
    from suite import suites
    from suite.commands.run import run_suite
    from suite.harness import RunSpec

    specs = [RunSpec("digits-mlp", "ort-int8-static", "cpu", params={"calibration_method": "bogus"}),
             RunSpec("digits-mlp", "tflite-int8", "edge", params={"weight_bits": "3"}),
             RunSpec("digits-mlp", "ort-int8-static", "cpu")]
    monkeypatch.setitem(suites.SUITES, "quant-bad-config", lambda: specs)
    run_suite(quick_session, "quant-bad-config")
    from suite.records.store import load_record
    records = [load_record(p) for p in sorted(quick_session.store.root.rglob("*.json"))]
    statuses = sorted((r["config"]["method"], r["config"]["method_params"].get("calibration_method"), r["status"])
                      for r in records)
    assert [s[2] for s in statuses].count("failed") == 2
    assert [s[2] for s in statuses].count("ok") == 1
    assert "2 run(s) failed" in capsys.readouterr().err


def test_a_method_reading_the_test_split_during_calibration_is_refused(quick_session, tmp_path):
    """The harness refuses the test split to a method: calibrating on it yields a failed record."""
    from suite.harness import RunSpec

    source = tmp_path / "sneaky_calibration.py"
    source.write_text(textwrap.dedent("""
        from methods.base import Method
        from methods.quantization.ort import OrtInt8Static
        from suite.data.splits import Split
        from suite.tracks import get_track

        class CalibrateOnTest(OrtInt8Static):
            name = "calibrate-on-test"

            def apply(self, model, context):
                test = get_track(context.track).load_splits().test  # must raise TestSplitAccessError
                context.calibration = Split(test.x[:256], test.y[:256])
                return super().apply(model, context)
    """))
    record = quick_session.run(RunSpec("digits-mlp", f"{source}:CalibrateOnTest", "cpu"))
    assert record["status"] == "failed"
    assert record["error"]["phase"] == "method"
    # Submitted code runs in the sandbox, where the dataset files do not exist at all.
    assert record["error"]["type"] == "SubmittedMethodError"
    message = record["error"]["message"]
    assert "tried to read the test split" in message or "No such file" in message


def test_torch_qat_fine_tunes_within_budget_and_records_it(session):
    from suite.harness import RunSpec

    record = session.run(RunSpec("digits-mlp", "torch-qat", "cpu-torch", params={"epochs": "2"}))
    assert record["status"] == "ok", record.get("error", {}).get("traceback")
    info = record["results"]["method_info"]
    assert info["finetune_epochs"] == 2 and info["finetune_budget_epochs"] == 5
    assert info["validation_accuracy_fake_quant_after"] > 0.9


def test_tfmot_qat_initialises_ranges_from_calibration(session):
    from suite.harness import RunSpec

    record = session.run(RunSpec("digits-mlp", "tfmot-qat", "edge"))
    assert record["status"] == "ok", record.get("error", {}).get("traceback")
    info = record["results"]["method_info"]
    assert info["activation_ranges_initialised_from_calibration"] >= 3
    # Without the range initialisation TF-MOT starts at [-6, 6] and the fake-quant model is near chance.
    assert info["validation_accuracy_fake_quant_before"] > 0.9
    assert info["input_dtype"] == info["output_dtype"] == "int8"


@requires_mnist
def test_torch_dynamic_on_lenet5_leaves_conv_fp32_and_says_so(method_context):
    from methods import METHODS
    from suite.tracks.base import ReferenceModel

    track, context = method_context("mnist-lenet5", formats=("torchscript",))
    [artifact] = _as_list(METHODS.get("torch-int8-dynamic")().apply(ReferenceModel(track), context))
    assert artifact.format == "torchscript"
    assert artifact.info["float_conv_layers"] == 2 and artifact.info["quantized_linear"] == 2
    assert "Conv layers stay fp32" in artifact.info["note"]
    assert artifact.params == 431_080


def test_tflite_info_is_read_back_from_the_flatbuffer(method_context):
    from methods import METHODS
    from suite.tracks.base import ReferenceModel

    track, context = method_context("digits-mlp", formats=("tflite",))
    model = ReferenceModel(track)
    fp16 = _as_list(METHODS.get("tflite-fp16")().apply(model, context))[0].info
    assert fp16["weights_by_op"] == ["FULLY_CONNECTED:float16:unquantized"] * 3
    int8 = _as_list(METHODS.get("tflite-int8")().apply(model, context))[0].info
    assert int8["weights_by_op"] == ["FULLY_CONNECTED:int8:per-channel"] * 3
    assert int8["input_dtype"] == int8["output_dtype"] == "int8"
    dynamic = _as_list(METHODS.get("tflite-dynamic-range")().apply(model, context))[0].info
    # 128x64 and 64x128 kernels are quantized; the 64x10 one (< 1024 weights) stays float32.
    assert dynamic["weights_by_op"][-1] == "FULLY_CONNECTED:float32:unquantized"
    assert dynamic["weights_by_op"][0] == "FULLY_CONNECTED:int8:per-channel"
