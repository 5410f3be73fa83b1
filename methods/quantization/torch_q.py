"""PyTorch quantization (torch.ao FX graph mode, x86 backend = fbgemm/oneDNN int8 kernels):
`torch-int8-static` (PTQ), `torch-int8-dynamic` (Linear layers only) and `torch-qat`.

Artifacts: TorchScript (traced; the quantized int8 modules survive tracing) for `cpu-torch`. The static
and QAT models are also exported to ONNX QDQ (TorchScript-based exporter), checked against PyTorch's own
int8 output on the calibration split (agreement recorded in info), so they run on `cpu` too.
PT2E is not used: in torch 2.13 it lives in torchao, which is not a dependency."""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from methods import METHODS
from methods.base import Method, check_choice
from methods.quantization.common import (calibration_batches, check_bits, check_positive, finetune_epochs,
                                         float_params, quant_info, require_float_input)
from suite.artifacts import ExportedArtifact, input_layout
from suite.errors import ConfigError
from suite.lazy import require

BACKENDS = ("x86", "fbgemm")
OBSERVERS = ("histogram", "minmax")


def _qconfig_mapping(backend: str, observer: str, per_channel: bool, qat: bool = False):
    """PyTorch's default x86 mapping with the activation observer / weight granularity the config asks for.
    Activations keep reduce_range=True like the x86 default (7-bit range avoids int16 overflow in
    non-VNNI kernels)."""
    torch = require("torch", "torch")
    from torch.ao.quantization import (QConfig, get_default_qat_qconfig_mapping, get_default_qconfig_mapping)
    from torch.ao.quantization import observer as obs

    if qat:
        return get_default_qat_qconfig_mapping(backend)  # fake-quant, moving-average minmax, per-channel weights
    act = (obs.HistogramObserver if observer == "histogram" else obs.MinMaxObserver).with_args(reduce_range=True)
    weight = (obs.PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
              if per_channel else obs.MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric))
    return get_default_qconfig_mapping(backend).set_global(QConfig(activation=act, weight=weight))


def _quantized_layers(model) -> list[str]:
    return sorted({type(m).__name__ for m in model.modules() if "quantized" in type(m).__module__})


def _export_artifacts(quantized, float_model, context, stem: str, info: dict[str, Any],
                      want_onnx: bool = True) -> list[ExportedArtifact]:
    """TorchScript always when requested; ONNX QDQ when requested (and `want_onnx`), verified against torch."""
    from methods.export.torchscript_export import export_torchscript

    total, nonzero = float_params(float_model)
    layout = input_layout(context.input_shape)
    artifacts = []
    if "torchscript" in context.formats or not want_onnx:
        path = export_torchscript(quantized, context.input_shape, context.workdir / f"{stem}.ts",
                                  input_dtype=context.input_dtype)
        artifacts.append(ExportedArtifact("torchscript", path, input_layout=layout, params=total,
                                          nonzero_params=nonzero, framework="torch", input_dtype=context.input_dtype,
                                          info={**info, "runtime_kernels": "PyTorch quantized (x86: fbgemm/oneDNN)"}))
    if want_onnx and "onnx" in context.formats:
        path = context.workdir / f"{stem}.onnx"
        export_quantized_onnx(quantized, context.input_shape, path)
        agreement = _onnx_agreement(quantized, path, context.calibration.x)
        artifacts.append(ExportedArtifact("onnx", path, input_layout=layout, params=total, nonzero_params=nonzero,
                                          framework="torch",
                                          info={**info, "export": "torch.onnx (TorchScript exporter) -> QDQ",
                                                "onnx_vs_torch_top1_agreement_calibration": agreement}))
    return artifacts


def export_quantized_onnx(quantized, input_shape, path) -> None:
    """Export a converted FX int8 model to ONNX QDQ. The exporter puts a Cast to the QuantizeLinear's own
    output dtype between Q and DQ; it is an identity, and removing it lets ORT fuse QDQ into int8 kernels."""
    torch = require("torch", "torch")
    import onnx

    example = torch.zeros((1, *input_shape), dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(quantized, (example,), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    graph_model = onnx.load(str(path))
    _drop_identity_casts_after_quantize(graph_model)
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, str(path))


def _drop_identity_casts_after_quantize(model) -> int:
    import onnx

    graph = model.graph
    q_out_dtype: dict[str, int] = {}
    consts = {init.name: init.data_type for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = node.attribute[0].t.data_type
    for node in graph.node:
        if node.op_type == "QuantizeLinear":
            zp_type = consts.get(node.input[2]) if len(node.input) > 2 else onnx.TensorProto.UINT8
            if zp_type is not None:
                q_out_dtype[node.output[0]] = zp_type
    rename, keep = {}, []
    for node in graph.node:
        to = next((a.i for a in node.attribute if a.name == "to"), None) if node.op_type == "Cast" else None
        if to is not None and q_out_dtype.get(node.input[0]) == to:
            rename[node.output[0]] = node.input[0]
            continue
        keep.append(node)
    for node in keep:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for out in graph.output:
        if out.name in rename:  # never the case for our graphs (they end in a float DequantizeLinear)
            raise ValueError(f"graph output {out.name} is an identity Cast")
    del graph.node[:]
    graph.node.extend(keep)
    return len(rename)


def _onnx_agreement(quantized, path, x: np.ndarray) -> float:
    """Top-1 agreement between ORT on the exported QDQ graph and PyTorch's int8 model (calibration split)."""
    torch = require("torch", "torch")
    ort = require("onnxruntime", "torch")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(x, dtype=np.float32)
    with torch.inference_mode():
        ref = quantized(torch.from_numpy(x)).numpy().argmax(1)
    got = session.run(None, {"input": x})[0].argmax(1)
    return float((ref == got).mean())


def _eval_accuracy(model, split) -> float:
    from suite.tracks.training import accuracy_torch
    return accuracy_torch(model, split.x, split.y)


@METHODS.register
class TorchInt8Static(Method):
    name = "torch-int8-static"
    hands_on = ()  # a quantized TorchScript/ONNX artifact: nothing float to hand to a next chain stage
    family = "quantization"
    framework = "torch"
    description = ("PyTorch FX static post-training int8 (x86 backend, per-channel weights, calibrated on the "
                   "calibration subset): TorchScript for cpu-torch + ONNX QDQ export for cpu")
    formats = ("torchscript", "onnx")

    @dataclass(frozen=True)
    class Config:
        backend: str = "x86"
        calibration_method: str = "histogram"
        per_channel: bool = True
        weight_bits: int = 8
        activation_bits: int = 8

        def __post_init__(self):
            check_choice(self.backend, BACKENDS, "torch-int8-static.backend")
            check_choice(self.calibration_method, OBSERVERS, "torch-int8-static.calibration_method")
            check_bits(self.weight_bits, "torch-int8-static.weight_bits")
            check_bits(self.activation_bits, "torch-int8-static.activation_bits")

    def apply(self, model, context):
        require_float_input(context, self.name)
        torch = require("torch", "torch")
        from torch.ao.quantization import quantize_fx

        cfg = self.config
        torch.backends.quantized.engine = cfg.backend
        float_model = model.torch().eval()
        example = (torch.zeros((1, *context.input_shape)),)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FX-mode deprecation notices (PT2E moved to torchao)
            prepared = quantize_fx.prepare_fx(copy.deepcopy(float_model),
                                              _qconfig_mapping(cfg.backend, cfg.calibration_method, cfg.per_channel),
                                              example)
            with torch.inference_mode():
                for batch in calibration_batches(context.calibration.x, 64):
                    prepared(torch.from_numpy(batch))
            quantized = quantize_fx.convert_fx(prepared).eval()
        info = quant_info(weight_bits=8, activation_bits=8,
                          granularity="per-channel" if cfg.per_channel else "per-tensor",
                          activation_granularity="per-tensor", scheme="static post-training (torch.ao FX)",
                          calibration_samples=len(context.calibration), calibration_method=cfg.calibration_method,
                          calibration_split="calibration", backend=cfg.backend, activation_dtype="quint8",
                          activation_reduce_range=True, weight_dtype="qint8 symmetric",
                          quantized_layers=_quantized_layers(quantized))
        return _export_artifacts(quantized, float_model, context, "torch-int8-static", info)


@METHODS.register
class TorchInt8Dynamic(Method):
    name = "torch-int8-dynamic"
    hands_on = ()  # a quantized TorchScript/ONNX artifact: nothing float to hand to a next chain stage
    family = "quantization"
    framework = "torch"
    description = ("PyTorch dynamic int8 quantization of Linear layers (Conv stays fp32); TorchScript, "
                   "cpu-torch only (no faithful ONNX export of dynamic quantized Linear)")
    formats = ("torchscript",)

    @dataclass(frozen=True)
    class Config:
        per_channel: bool = False
        weight_bits: int = 8

        def __post_init__(self):
            check_bits(self.weight_bits, "torch-int8-dynamic.weight_bits")

    def apply(self, model, context):
        # Dynamic quantization touches only Linear layers, so it also serves token-id (int64) models.
        torch = require("torch", "torch")
        from torch import nn
        from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

        float_model = model.torch().eval()
        qconfig = per_channel_dynamic_qconfig if self.config.per_channel else default_dynamic_qconfig
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantized = quantize_dynamic(copy.deepcopy(float_model), {nn.Linear: qconfig}, dtype=torch.qint8)
        n_linear = sum(isinstance(m, nn.Linear) for m in float_model.modules())
        n_conv = sum(isinstance(m, nn.Conv2d) for m in float_model.modules())
        info = quant_info(weight_bits=8, activation_bits=None,
                          granularity="per-channel" if self.config.per_channel else "per-tensor",
                          scheme="dynamic (Linear weights int8; activations quantized per batch at run time)",
                          calibration_samples=0, calibration_method="none (dynamic)",
                          quantized_layers=_quantized_layers(quantized), quantized_linear=n_linear,
                          float_conv_layers=n_conv,
                          note=("Conv layers stay fp32 (dynamic quantization covers Linear only)" if n_conv else
                                "every weight layer is Linear, all quantized"))
        return _export_artifacts(quantized, float_model, context, "torch-int8-dynamic", info, want_onnx=False)


@METHODS.register
class TorchQat(Method):
    name = "torch-qat"
    hands_on = ()  # a quantized TorchScript/ONNX artifact: nothing float to hand to a next chain stage
    needs_training = True
    family = "quantization"
    framework = "torch"
    description = ("PyTorch FX quantization-aware training (x86 QAT qconfig, fine-tuned within the track's "
                   "budget) converted to int8: TorchScript for cpu-torch + ONNX QDQ for cpu")
    formats = ("torchscript", "onnx")

    @dataclass(frozen=True)
    class Config:
        epochs: int = 1      # capped by the track's finetune_epochs budget (checked at apply)
        lr: float = 1e-3     # SGD momentum 0.9, cosine, from the trained reference weights
        backend: str = "x86"
        weight_bits: int = 8
        activation_bits: int = 8

        def __post_init__(self):
            check_choice(self.backend, BACKENDS, "torch-qat.backend")
            check_bits(self.weight_bits, "torch-qat.weight_bits")
            check_bits(self.activation_bits, "torch-qat.activation_bits")
            if not isinstance(self.epochs, int) or isinstance(self.epochs, bool):
                raise ConfigError(f"torch-qat.epochs must be an integer, got {self.epochs!r}")
            check_positive(self.epochs, "torch-qat.epochs")
            check_positive(self.lr, "torch-qat.lr")

    def apply(self, model, context):
        require_float_input(context, self.name)
        torch = require("torch", "torch")
        from torch.ao.quantization import quantize_fx

        from suite.tracks.training import TrainRecipe, fit

        cfg = self.config
        epochs = finetune_epochs(cfg.epochs, context, self.name)
        float_model = model.torch()
        example = (torch.zeros((1, *context.input_shape)),)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prepared = quantize_fx.prepare_qat_fx(copy.deepcopy(float_model).train(),
                                                  _qconfig_mapping(cfg.backend, "", True, qat=True), example)
            # Observers see the calibration subset first, so fake-quant starts from sensible ranges.
            with torch.no_grad():
                for batch in calibration_batches(context.calibration.x, 64):
                    prepared(torch.from_numpy(batch))
            val_before = _eval_accuracy(prepared, context.validation)
            recipe = TrainRecipe(epochs=epochs, lr=cfg.lr, batch_size=context.budget.batch_size, momentum=0.9,
                                 weight_decay=0.0, schedule="cosine", seed=context.seed)
            fit(prepared, context.train.x, context.train.y, recipe)
            val_after = _eval_accuracy(prepared, context.validation)
            quantized = quantize_fx.convert_fx(prepared.eval()).eval()
        info = quant_info(weight_bits=8, activation_bits=8, granularity="per-channel",
                          activation_granularity="per-tensor",
                          scheme="quantization-aware training (torch.ao FX, x86 QAT qconfig)",
                          calibration_samples=len(context.calibration),
                          calibration_method="moving-average minmax fake-quant (initialised on calibration, "
                                             "updated during fine-tuning)",
                          finetune_epochs=epochs, finetune_budget_epochs=int(context.budget.finetune_epochs),
                          finetune_samples=len(context.train), optimizer=f"SGD lr={cfg.lr} momentum=0.9 cosine",
                          validation_accuracy_fake_quant_before=val_before,
                          validation_accuracy_fake_quant_after=val_after, backend=cfg.backend,
                          quantized_layers=_quantized_layers(quantized))
        return _export_artifacts(quantized, float_model, context, "torch-qat", info)
