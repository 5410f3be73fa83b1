"""TensorFlow Lite / TF-MOT quantization of the tf-keras port of the reference weights (artifacts for the
`edge` target): `tflite-int8` (full-integer PTQ), `tflite-dynamic-range`, `tflite-fp16` and `tfmot-qat`
(quantization-aware training within the track's fine-tune budget, then full-int8 conversion)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from methods import METHODS
from methods.base import Method
from methods.quantization.common import (check_bits, check_positive, finetune_epochs, float_params, quant_info,
                                         require_float_input)
from suite.artifacts import ExportedArtifact, input_layout
from suite.errors import ConfigError
from suite.lazy import require


def representative_dataset(x_torch_layout: np.ndarray):
    """Representative dataset for the TFLite converter: the calibration split, NHWC, one sample per step."""
    from methods.export.tflite_export import to_nhwc

    x = to_nhwc(np.asarray(x_torch_layout, dtype=np.float32))

    def gen():
        for i in range(len(x)):
            yield [x[i:i + 1]]
    return gen


def inspect_tflite(path) -> dict[str, Any]:
    """Facts read back from the flatbuffer: weight dtypes and scale counts (per-channel or per-tensor),
    input/output dtypes and the op list, so `info` describes the artifact rather than the request."""
    interp_mod = require("ai_edge_litert.interpreter", "tf")
    interpreter = interp_mod.Interpreter(model_path=str(path))
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    facts: dict[str, Any] = {
        "input_dtype": np.dtype(interpreter.get_input_details()[0]["dtype"]).name,
        "output_dtype": np.dtype(interpreter.get_output_details()[0]["dtype"]).name,
    }
    try:
        ops = interpreter._get_ops_details()  # no public equivalent; facts only, never required
    except Exception:  # pragma: no cover - depends on LiteRT internals
        return facts
    facts["ops"] = sorted({op["op_name"] for op in ops})
    granularity, weight_dtypes, by_op = [], [], []
    produced_by = {int(out): op for op in ops for out in op["outputs"]}
    for op in ops:
        if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op["inputs"]) > 1:
            weight = tensors.get(int(op["inputs"][1]))
            producer = produced_by.get(int(op["inputs"][1]))
            if producer is not None and producer["op_name"] == "DEQUANTIZE":  # fp16 / stored-narrow weights
                weight = tensors.get(int(producer["inputs"][0]))
            if weight is None:
                continue
            scales = weight["quantization_parameters"]["scales"]
            weight_dtypes.append(np.dtype(weight["dtype"]).name)
            granularity.append("per-channel" if len(scales) > 1 else ("per-tensor" if len(scales) == 1 else "unquantized"))
            by_op.append(f"{op['op_name']}:{weight_dtypes[-1]}:{granularity[-1]}")
    facts["weights_by_op"] = by_op  # in graph order; e.g. the converter leaves layers under 1024 weights float
    facts["weight_dtypes"] = sorted(set(weight_dtypes))
    kinds = sorted(set(granularity))
    facts["weight_granularity"] = kinds[0] if len(kinds) == 1 else "mixed: " + ", ".join(kinds)
    return facts


def _via_litert(context) -> bool:
    return getattr(context, "tflite_converter", "keras-port") == "litert-torch"


def _convert_litert(model, context, method_name: str, scheme: str):
    """Architectures without a tf-keras port (speed tracks): litert-torch converts the PyTorch model; PT2E
    quantizes it ("static_int8") or ai-edge-quantizer rewrites the fp32 flatbuffer ("dynamic_int8",
    "fp16_weights"). Returns what _convert_reference returns."""
    from methods.export import litert_export
    from methods.quantization.common import calibration_batches

    torch_model = model.torch()
    path = context.workdir / f"{method_name}.tflite"
    if scheme == "static_int8":
        litert_export.torch_to_tflite_static_int8(torch_model, context.input_shape, path,
                                                  calibration_batches(context.calibration.x),
                                                  input_dtype=context.input_dtype)
    else:
        float_path = litert_export.torch_to_tflite(torch_model, context.input_shape,
                                                   context.workdir / f"{method_name}-fp32.tflite",
                                                   input_dtype=context.input_dtype)
        litert_export.quantize_tflite(float_path, path, scheme)
    return torch_model, path, {**inspect_tflite(path), "converter": "litert-torch"}


def _convert_reference(model, context, method_name: str, litert_scheme: str, **converter_options):
    """The reference weights -> tf-keras port -> `<method>.tflite` with the given converter options; returns the
    torch model (for parameter counts), the flatbuffer path and the facts read back from it. Weight-only
    conversions (dynamic range, fp16) take any input dtype, token ids included; a representative dataset
    (full-integer) needs float32 inputs."""
    if _via_litert(context):  # no tf-keras port (speed tracks): litert-torch + PT2E / ai-edge-quantizer
        return _convert_litert(model, context, method_name, litert_scheme)
    if converter_options.get("representative") is not None:
        require_float_input(context, method_name)
    from methods.export.tflite_export import keras_to_tflite
    from suite.tracks.keras_port import torch_to_keras

    if getattr(model, "framework", "torch") == "keras":  # a chain's Keras stage (TF-MOT) handed this model on
        source = keras_model = model.keras()
    else:
        source = model.torch()
        keras_model = torch_to_keras(source, context.input_shape)
    path = keras_to_tflite(keras_model, context.workdir / f"{method_name}.tflite", **converter_options)
    return source, path, inspect_tflite(path)


def _artifact(path, model_torch, context, info) -> ExportedArtifact:
    """model_torch: the float model that was converted (PyTorch, or tf-keras when a chain handed one on)."""
    if hasattr(model_torch, "get_weights"):
        from methods.export.keras_export import keras_params
        total, nonzero = keras_params(model_torch)
    else:
        total, nonzero = float_params(model_torch)
    if _via_litert(context):  # litert-torch keeps PyTorch's input layout
        layout, framework = input_layout(context.input_shape), "litert-torch"
    else:
        layout, framework = input_layout(context.input_shape, channels_last=True), "tensorflow"
    return ExportedArtifact("tflite", path, input_layout=layout, params=total,
                            nonzero_params=nonzero, framework=framework, info=info,
                            input_dtype=getattr(context, "input_dtype", "float32"))


@METHODS.register
class TfliteInt8(Method):
    name = "tflite-int8"
    takes = ("keras", "torch")  # the tf-keras port (or a Keras stage's model); litert-torch tracks: PyTorch
    hands_on = ()  # a quantized flatbuffer: nothing float to hand to a next chain stage
    family = "quantization"
    framework = "tensorflow"
    description = ("TFLite full-integer post-training quantization (int8 weights/activations, int8 input/output), "
                   "representative dataset = calibration subset")
    formats = ("tflite",)
    in_default_suite = True

    @dataclass(frozen=True)
    class Config:
        weight_bits: int = 8
        activation_bits: int = 8
        int8_io: bool = True

        def __post_init__(self):
            check_bits(self.weight_bits, "tflite-int8.weight_bits")
            check_bits(self.activation_bits, "tflite-int8.activation_bits")

    def apply(self, model, context):
        torch_model, path, facts = _convert_reference(
            model, context, self.name, "static_int8", representative=representative_dataset(context.calibration.x),
            int8_io=self.config.int8_io, builtin_int8_only=True)
        if _via_litert(context):
            scheme = ("full-integer post-training, PT2E (litert-torch PT2EQuantizer: symmetric per-channel int8 "
                      "weights, int8 activations) lowered by litert-torch")
            calibration_method = "PT2E observers (minmax) over the calibration inputs, batch 1"
        else:
            scheme = "full-integer post-training (TFLite converter)"
            calibration_method = "minmax over representative dataset (TFLite converter)"
        info = quant_info(weight_bits=8, activation_bits=8, granularity=facts.get("weight_granularity", "unknown"),
                          scheme=scheme, calibration_samples=len(context.calibration),
                          calibration_method=calibration_method, calibration_split="calibration", **facts)
        return _artifact(path, torch_model, context, info)


@METHODS.register
class TfliteDynamicRange(Method):
    name = "tflite-dynamic-range"
    takes = ("keras", "torch")  # the tf-keras port (or a Keras stage's model); litert-torch tracks: PyTorch
    hands_on = ()  # a quantized flatbuffer: nothing float to hand to a next chain stage
    family = "quantization"
    framework = "tensorflow"
    description = ("TFLite dynamic-range quantization: int8 weights, float activations (quantized on the fly "
                   "inside hybrid kernels); no calibration data")
    formats = ("tflite",)

    @dataclass(frozen=True)
    class Config:
        weight_bits: int = 8

        def __post_init__(self):
            check_bits(self.weight_bits, "tflite-dynamic-range.weight_bits")

    def apply(self, model, context):
        torch_model, path, facts = _convert_reference(model, context, self.name, "dynamic_int8", optimize=True)
        scheme = ("dynamic range, ai-edge-quantizer dynamic_wi8_afp32 on the litert-torch fp32 flatbuffer "
                  "(channel-wise int8 weights; activations quantized per inference)" if _via_litert(context) else
                  "dynamic range (weights int8; activations float, quantized per inference by hybrid kernels)")
        info = quant_info(weight_bits=8, activation_bits=None, granularity=facts.get("weight_granularity", "unknown"),
                          scheme=scheme,
                          calibration_samples=0, calibration_method="none (dynamic)", **facts)
        return _artifact(path, torch_model, context, info)


@METHODS.register
class TfliteFp16(Method):
    name = "tflite-fp16"
    takes = ("keras", "torch")  # the tf-keras port (or a Keras stage's model); litert-torch tracks: PyTorch
    hands_on = ()  # a quantized flatbuffer: nothing float to hand to a next chain stage
    family = "quantization"
    framework = "tensorflow"
    description = "TFLite float16 quantization: fp16 weights (half the size), fp32 input/output"
    formats = ("tflite",)

    @dataclass(frozen=True)
    class Config:
        weight_bits: int = 16

        def __post_init__(self):
            check_bits(self.weight_bits, "tflite-fp16.weight_bits", supported=(16,))

    def apply(self, model, context):
        torch_model, path, facts = _convert_reference(model, context, self.name, "fp16_weights", float16=True)
        scheme = ("float16 weights, ai-edge-quantizer FLOAT_CASTING weight-only recipe on the litert-torch fp32 "
                  "flatbuffer (dequantized to fp32, or run in fp16 where the CPU supports it)" if _via_litert(context)
                  else "float16 weights (dequantized to fp32, or run in fp16 where the CPU supports it)")
        info = quant_info(weight_bits=16, activation_bits=None, granularity="per-tensor (float16 cast, no scales)",
                          scheme=scheme,
                          calibration_samples=0, calibration_method="none", weight_format="float16", **facts)
        return _artifact(path, torch_model, context, info)


@METHODS.register
class TfmotQat(Method):
    name = "tfmot-qat"
    hands_on = ()  # the int8 flatbuffer only
    needs_training = True
    family = "quantization"
    framework = "tensorflow"
    description = ("TF-MOT quantization-aware training (quantize_model, fine-tuned within the track's budget), "
                   "then full-int8 TFLite with int8 input/output")
    formats = ("tflite",)

    @dataclass(frozen=True)
    class Config:
        epochs: int = 1          # capped by the track's finetune_epochs budget (checked at apply)
        lr: float = 1e-4         # Adam, from the trained reference weights
        weight_bits: int = 8
        activation_bits: int = 8

        def __post_init__(self):
            check_bits(self.weight_bits, "tfmot-qat.weight_bits")
            check_bits(self.activation_bits, "tfmot-qat.activation_bits")
            check_positive(self.epochs, "tfmot-qat.epochs")
            if not isinstance(self.epochs, int):
                raise ConfigError(f"tfmot-qat.epochs must be an integer, got {self.epochs!r}")
            check_positive(self.lr, "tfmot-qat.lr")

    def apply(self, model, context):
        require_float_input(context, self.name)
        import os

        if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
            raise ConfigError("tfmot-qat needs tf-keras: set TF_USE_LEGACY_KERAS=1 before TensorFlow is imported "
                              "(the CLI, Makefile and tests do this)")
        tf = require("tensorflow", "tf")
        keras = require("tf_keras", "tf")
        tfmot = require("tensorflow_model_optimization", "tf")
        from methods.export.tflite_export import keras_to_tflite, to_nhwc
        from suite.tracks.keras_port import torch_to_keras

        epochs = finetune_epochs(self.config.epochs, context, self.name)
        tf.keras.utils.set_random_seed(context.seed)
        if getattr(model, "framework", "torch") == "keras":  # a chain's Keras stage handed this model on
            torch_model = float_keras = model.keras()  # (_artifact counts its parameters)
        else:
            torch_model = model.torch()
            float_keras = torch_to_keras(torch_model, context.input_shape)
        qat = tfmot.quantization.keras.quantize_model(float_keras)
        initialised = init_qat_ranges(qat, float_keras, to_nhwc(context.calibration.x))
        qat.compile(optimizer=keras.optimizers.Adam(self.config.lr),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        x_train, x_val = to_nhwc(context.train.x), to_nhwc(context.validation.x)
        val_before = float(qat.evaluate(x_val, context.validation.y, batch_size=512, verbose=0)[1])
        history = qat.fit(x_train, context.train.y, epochs=epochs, batch_size=context.budget.batch_size,
                          shuffle=True, verbose=0)
        val_after = float(qat.evaluate(x_val, context.validation.y, batch_size=512, verbose=0)[1])
        # Ranges come from the QAT fake-quant nodes; the representative set only covers any op without one.
        path = keras_to_tflite(qat, context.workdir / "tfmot-qat.tflite",
                               representative=representative_dataset(context.calibration.x),
                               int8_io=True, builtin_int8_only=True)
        facts = inspect_tflite(path)
        info = quant_info(weight_bits=8, activation_bits=8, granularity=facts.get("weight_granularity", "unknown"),
                          scheme="quantization-aware training (TF-MOT default 8-bit scheme), full-int8 TFLite",
                          calibration_samples=len(context.calibration),
                          calibration_method="QAT fake-quant ranges (representative set for ops without one)",
                          activation_ranges_initialised_from_calibration=initialised,
                          finetune_epochs=epochs, finetune_budget_epochs=int(context.budget.finetune_epochs),
                          finetune_samples=len(context.train), optimizer=f"Adam lr={self.config.lr}",
                          final_train_loss=float(history.history["loss"][-1]),
                          validation_accuracy_fake_quant_before=val_before,
                          validation_accuracy_fake_quant_after=val_after, **facts)
        return _artifact(path, torch_model, context, info)


_ACTIVATION_RANGE_VARS = ("post_activation", "output", "quantize_layer")


def init_qat_ranges(qat, float_keras, x_calib: np.ndarray) -> int:
    """Start TF-MOT's activation fake-quant ranges from the float model's activations on the calibration
    split (the same role as the representative dataset in PTQ). TF-MOT initialises every range to [-6, 6]
    and moves it with an EMA of decay 0.999, so a budget of a few hundred steps would otherwise fine-tune
    against ranges that are still mostly the placeholder. Weight ranges (LastValueQuantizer) are set by one
    training-mode forward pass. Returns how many range pairs were set."""
    tf = require("tensorflow", "tf")

    x = tf.constant(np.asarray(x_calib, dtype=np.float32))
    keras = require("tf_keras", "tf")
    if isinstance(float_keras, keras.Sequential):
        outputs, h = [], x
        for layer in float_keras.layers:
            h = layer(h, training=False)
            outputs.append(h.numpy())
    else:  # a functional graph (ResNet-8: residual additions): every layer's output from one probe model
        probe = keras.Model(float_keras.inputs, [layer.output for layer in float_keras.layers])
        outputs = [o.numpy() for o in probe(x, training=False)]
    ranges = {}
    float_names = [layer.name for layer in float_keras.layers]
    for layer in qat.layers:
        inner = getattr(layer, "layer", None)
        if inner is None:  # the QuantizeLayer on the model input
            value = x.numpy()
        elif inner.name in float_names:
            value = outputs[float_names.index(inner.name)]
        else:
            continue
        ranges[layer.name] = (min(float(value.min()), 0.0), max(float(value.max()), 0.0))
    qat(x[:min(len(x), 256)], training=True)  # sets weight ranges; the EMA moves activation ranges by 0.1%
    count = 0
    for layer in qat.layers:
        if layer.name not in ranges:
            continue
        low, high = ranges[layer.name]
        for var in layer.non_trainable_variables:
            base = var.name.split("/")[-1].split(":")[0]
            for prefix in _ACTIVATION_RANGE_VARS:
                if base == f"{prefix}_min":
                    var.assign(tf.fill(var.shape, low))
                    count += 1
                elif base == f"{prefix}_max":
                    var.assign(tf.fill(var.shape, high))
    return count
