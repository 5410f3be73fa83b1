"""ONNX Runtime quantization: `ort-int8-dynamic` (quantize_dynamic) and `ort-int8-static` (per-channel int8
weights, activations calibrated on the track's calibration subset). Both start from the fp32 ONNX export
of the reference weights and produce an ONNX artifact for the `cpu` target.

`ort-int8-static` defaults to the QOperator format with uint8 activations (U8S8: QLinearConv / QLinearMatMul
nodes) and 7-bit weights (reduce_range), measured, not assumed: on the ResNet-8 shape at batch 64, QDQ with int8 activations (S8S8, the
previous default) ran at 0.46-0.51x of fp32 on an AVX-512 VNNI Xeon and 0.71x on the project's AVX2 EPYC, while
QOperator U8S8 ran at 1.46-1.53x and 1.72x (QDQ U8S8: 1.58x on the EPYC). x86 MLAS kernels are built around
u8 activations x s8 weights; ONNX Runtime's quantization docs discuss the same U8S8 vs S8S8 / QDQ vs QOperator
trade-off. `quant_format=qdq activation_type=int8 reduce_range=false` gives the previous behaviour (published MNIST
records)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from methods import METHODS
from methods.base import Method, check_choice
from methods.quantization.common import calibration_batches, check_bits, check_positive, float_params, quant_info
from suite.artifacts import ExportedArtifact, input_layout
from suite.lazy import require

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
QUANT_TYPES = ("int8", "uint8")
QUANT_FORMATS = ("qoperator", "qdq")


def _export_float(model, context, stem: str):
    """The reference weights as fp32 ONNX, then ORT's own pre-processing (shape inference + folding)."""
    from methods.export.onnx_export import export_onnx

    require("onnxruntime", "torch")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    torch_model = model.torch()
    raw = export_onnx(torch_model, context.input_shape, context.workdir / f"{stem}-fp32.onnx",
                      input_dtype=context.input_dtype)
    pre = context.workdir / f"{stem}-fp32-pre.onnx"
    quant_pre_process(str(raw), str(pre))
    return torch_model, pre


def _quant_type(name: str):
    from onnxruntime.quantization import QuantType
    return {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}[name]


@METHODS.register
class OrtInt8Dynamic(Method):
    name = "ort-int8-dynamic"
    family = "quantization"
    framework = "onnxruntime"
    description = ("ONNX Runtime dynamic quantization: int8 weights, activations quantized per batch at run "
                   "time (ConvInteger/MatMulInteger); no calibration data")
    formats = ("onnx",)

    @dataclass(frozen=True)
    class Config:
        weight_bits: int = 8
        weight_type: Literal["int8", "uint8"] = "int8"
        per_channel: bool = False
        reduce_range: bool = False

        def __post_init__(self):
            check_bits(self.weight_bits, "ort-int8-dynamic.weight_bits")
            check_choice(self.weight_type, QUANT_TYPES, "ort-int8-dynamic.weight_type")

    def apply(self, model, context):
        require("onnxruntime", "torch")
        from onnxruntime.quantization import quantize_dynamic

        cfg = self.config
        torch_model, pre = _export_float(model, context, "ort-dynamic")
        out = context.workdir / "ort-int8-dynamic.onnx"
        quantize_dynamic(str(pre), str(out), weight_type=_quant_type(cfg.weight_type),
                         per_channel=cfg.per_channel, reduce_range=cfg.reduce_range)
        total, nonzero = float_params(torch_model)
        info = quant_info(weight_bits=8, activation_bits=8,
                          granularity="per-channel" if cfg.per_channel else "per-tensor",
                          scheme="dynamic (activation ranges computed per batch at run time)",
                          calibration_samples=0, calibration_method="none (dynamic)",
                          weight_type=cfg.weight_type, activation_type="uint8", reduce_range=cfg.reduce_range,
                          ops=_op_types(out))
        return ExportedArtifact("onnx", out, input_layout=input_layout(context.input_shape), params=total,
                                nonzero_params=nonzero, framework="onnxruntime", info=info,
                                input_dtype=context.input_dtype)


@METHODS.register
class OrtInt8Static(Method):
    name = "ort-int8-static"
    family = "quantization"
    framework = "onnxruntime"
    description = ("ONNX Runtime static post-training quantization: QOperator (QLinearConv), per-channel int8 "
                   "weights, uint8 activations calibrated (minmax/entropy/percentile) on the calibration subset")
    formats = ("onnx",)
    in_default_suite = True
    # Records written before `quant_format` existed ran QDQ (tables show them as quant_format=qdq).
    former_defaults = {"quant_format": "qdq"}

    @dataclass(frozen=True)
    class Config:
        calibration_method: str = "minmax"
        percentile: float = 99.999
        per_channel: bool = True
        weight_bits: int = 8
        activation_bits: int = 8
        weight_type: Literal["int8", "uint8"] = "int8"
        activation_type: Literal["int8", "uint8"] = "uint8"
        # 7-bit weights: with u8 activations, AVX2/AVX-512 kernels without VNNI (vpmaddubsw) saturate int16
        # partial sums; the same artifact then loses accuracy on such CPUs only (ResNet-8 on the AVX2 EPYC:
        # -2.50 pp without, -0.21 pp with reduce_range), as ONNX Runtime's quantization docs warn.
        reduce_range: bool = True
        quant_format: Literal["qoperator", "qdq"] = "qoperator"

        def __post_init__(self):
            check_choice(self.quant_format, QUANT_FORMATS, "ort-int8-static.quant_format")
            check_choice(self.calibration_method, CALIBRATION_METHODS, "ort-int8-static.calibration_method")
            check_bits(self.weight_bits, "ort-int8-static.weight_bits")
            check_bits(self.activation_bits, "ort-int8-static.activation_bits")
            check_choice(self.weight_type, QUANT_TYPES, "ort-int8-static.weight_type")
            check_choice(self.activation_type, QUANT_TYPES, "ort-int8-static.activation_type")
            check_positive(self.percentile, "ort-int8-static.percentile")
            if self.percentile > 100:
                from suite.errors import ConfigError
                raise ConfigError(f"ort-int8-static.percentile must be in (0, 100], got {self.percentile}")

    def apply(self, model, context):
        require("onnxruntime", "torch")
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

        cfg = self.config
        torch_model, pre = _export_float(model, context, "ort-static")
        out = context.workdir / "ort-int8-static.onnx"
        method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                  "percentile": CalibrationMethod.Percentile}[cfg.calibration_method]
        extra = {"CalibPercentile": cfg.percentile} if cfg.calibration_method == "percentile" else {}
        n_calib = len(context.calibration)
        quantize_static(str(pre), str(out), _CalibrationReader(context.calibration.x),
                        quant_format=QuantFormat.QOperator if cfg.quant_format == "qoperator" else QuantFormat.QDQ,
                        per_channel=cfg.per_channel, reduce_range=cfg.reduce_range,
                        activation_type=_quant_type(cfg.activation_type), weight_type=_quant_type(cfg.weight_type),
                        calibrate_method=method, extra_options=extra)
        total, nonzero = float_params(torch_model)
        calib_desc = cfg.calibration_method + (f" ({cfg.percentile})" if cfg.calibration_method == "percentile" else "")
        info = quant_info(weight_bits=8, activation_bits=8,
                          granularity="per-channel" if cfg.per_channel else "per-tensor",
                          activation_granularity="per-tensor",
                          scheme="static " + ("QOperator (QLinear* nodes)" if cfg.quant_format == "qoperator" else "QDQ"),
                          quant_format=cfg.quant_format,
                          calibration_samples=n_calib, calibration_method=calib_desc,
                          calibration_split="calibration", weight_type=cfg.weight_type,
                          activation_type=cfg.activation_type, reduce_range=cfg.reduce_range, ops=_op_types(out))
        return ExportedArtifact("onnx", out, input_layout=input_layout(context.input_shape), params=total,
                                nonzero_params=nonzero, framework="onnxruntime", info=info,
                                input_dtype=context.input_dtype)


class _CalibrationReader:
    """onnxruntime.quantization.CalibrationDataReader over the calibration split only."""

    def __new__(cls, x):
        from onnxruntime.quantization import CalibrationDataReader

        class Reader(CalibrationDataReader):
            def __init__(self):
                self._batches = None
                self.rewind()

            def get_next(self):
                batch = next(self._batches, None)
                return None if batch is None else {"input": batch}

            def rewind(self):
                self._batches = calibration_batches(x)

        return Reader()


def _op_types(path) -> list[str]:
    """Operator types in the quantized graph (shows what was actually quantized)."""
    import onnx
    return sorted({node.op_type for node in onnx.load(str(path)).graph.node})
