"""Count what an artifact holds, from the file itself: parameters, non-zeros and their bit widths.

A submitted method's own `params` / `nonzero_params` / bits are claims; the record's size numbers come from
here (the claims are kept beside them, labelled). Parameters are the constant tensors a layer computes
with (weights, biases, embedding tables) in whatever dtype they are stored; quantization scales and
zero points and shape/index constants (Reshape targets, Transpose permutations, ...) are not parameters.

Runs inside the measurement sandbox for submitted artifacts (parsing a hostile file is itself risky)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

# ONNX: operand positions that hold quantization parameters or shapes/indices, per op type.
_ONNX_NOT_PARAMS = {
    "QuantizeLinear": {1, 2}, "DequantizeLinear": {1, 2}, "DynamicQuantizeLinear": set(),
    "MatMulInteger": {2, 3}, "ConvInteger": {2, 3},
    "QLinearMatMul": {1, 2, 4, 5, 6, 7}, "QLinearConv": {1, 2, 4, 5, 6, 7},
    "QLinearAdd": {1, 2, 4, 5, 6, 7}, "QLinearMul": {1, 2, 4, 5, 6, 7},
    "Reshape": {1}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4}, "Gather": {1}, "Transpose": set(),
    "Unsqueeze": {1}, "Squeeze": {1}, "ReduceMean": {1}, "ReduceSum": {1}, "Pad": {1, 2, 3}, "Split": {1},
    "ConstantOfShape": {0}, "Range": {0, 1, 2}, "Resize": {1, 2, 3}, "Clip": {1, 2}, "TopK": {1},
    "CumSum": {1}, "OneHot": {1, 2},
}
# TFLite builtin operator names whose listed inputs are shapes/indices, not parameters.
_TFLITE_NOT_PARAMS = {
    "RESHAPE": {1}, "TRANSPOSE": {1}, "PAD": {1}, "PADV2": {1, 2}, "STRIDED_SLICE": {1, 2, 3}, "SLICE": {1, 2},
    "GATHER": {1}, "MEAN": {1}, "SUM": {1}, "REDUCE_MAX": {1}, "EXPAND_DIMS": {1}, "BROADCAST_TO": {1},
    "TILE": {1}, "SPLIT": {0}, "ARG_MAX": {1}, "RESIZE_BILINEAR": {1}, "RESIZE_NEAREST_NEIGHBOR": {1},
    "CUMSUM": {1}, "ONE_HOT": {1, 2, 3}, "FILL": {0}, "RANGE": {0, 1, 2},
}


def _summary(arrays: list[tuple[np.ndarray, int]]) -> dict:
    params = sum(int(a.size) for a, _ in arrays)
    nonzero = sum(int(np.count_nonzero(a)) for a, _ in arrays)
    bits = Counter()
    for a, b in arrays:
        bits[str(b)] += int(a.size)
    return {"params": params, "nonzero_params": nonzero,
            "params_by_bits": dict(sorted(bits.items(), key=lambda kv: int(kv[0])))}


def count_onnx(path: Path) -> dict:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path), load_external_data=False)
    graphs = [model.graph]
    excluded: set[str] = set()
    inits = {}
    while graphs:
        graph = graphs.pop()
        for init in graph.initializer:
            inits[init.name] = init
        for node in graph.node:
            if node.op_type == "Constant" and node.output:
                for attr in node.attribute:
                    if attr.name == "value" and attr.t is not None:
                        inits[node.output[0]] = attr.t
            for pos in _ONNX_NOT_PARAMS.get(node.op_type, set()):
                if pos < len(node.input):
                    excluded.add(node.input[pos])
            for attr in node.attribute:  # subgraphs (If/Loop/Scan bodies)
                if attr.g is not None and attr.g.node:
                    graphs.append(attr.g)
                graphs.extend(g for g in attr.graphs)
    arrays = []
    for name, init in inits.items():
        if name in excluded or init.data_location == onnx.TensorProto.EXTERNAL:
            continue
        array = numpy_helper.to_array(init)
        if array.dtype == np.int64 or array.dtype.kind == "b":
            continue  # shapes, axes, indices, masks
        if array.size == 1:
            continue  # scalars: quantization scales, epsilons, constants
        arrays.append((array, array.dtype.itemsize * 8))
    return _summary(arrays)


def count_tflite(path: Path) -> dict:
    from ai_edge_litert import schema_py_generated as schema

    data = Path(path).read_bytes()
    model = schema.Model.GetRootAs(data, 0)
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    np_types = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT8": np.int8, "UINT8": np.uint8,
                "INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "FLOAT64": np.float64, "BOOL": np.bool_}
    arrays = []
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        excluded, quant_only = set(), set()
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "")
            for pos in _TFLITE_NOT_PARAMS.get(name, set()):
                if pos < op.InputsLength():
                    excluded.add(op.Inputs(pos))
        for t in range(graph.TensorsLength()):
            if t in excluded or t in quant_only:
                continue
            tensor = graph.Tensors(t)
            buffer = model.Buffers(tensor.Buffer())
            if tensor.Buffer() == 0 or buffer is None:
                continue
            if buffer.DataLength():
                raw = buffer.DataAsNumpy().tobytes()
            elif buffer.Offset() > 1:
                raw = data[buffer.Offset():buffer.Offset() + buffer.Size()]
            else:
                continue
            dtype = np_types.get(type_names.get(tensor.Type(), ""), None)
            if dtype is None:
                continue
            array = np.frombuffer(raw, dtype=dtype)
            if array.dtype.kind in "iu" and array.dtype.itemsize >= 4 and tensor.ShapeLength() <= 1 \
                    and array.size <= 8:
                continue  # small int32/int64 vectors: shapes and axes
            arrays.append((array, array.dtype.itemsize * 8))
    return _summary(arrays)


def count_torchscript(path: Path) -> dict:
    import torch

    module = torch.jit.load(str(path), map_location="cpu")
    arrays, seen = [], set()

    def visit(value):
        if isinstance(value, (tuple, list)):
            for item in value:
                visit(item)
        elif isinstance(value, torch.Tensor) and value.data_ptr() not in seen:
            seen.add(value.data_ptr())
            if value.is_quantized:
                arrays.append((value.int_repr().numpy(), value.element_size() * 8))
            elif value.dtype.is_floating_point:
                arrays.append((value.detach().float().numpy(), value.element_size() * 8))
    for value in module.state_dict().values():
        if isinstance(value, torch.Tensor) or isinstance(value, (tuple, list)):
            visit(value)
        elif hasattr(value, "__getstate__"):  # packed quantized params (LinearPackedParams)
            try:
                visit(value.__getstate__())
            except Exception:  # noqa: BLE001 - an opaque object holds no countable tensors
                pass
    # A frozen module keeps its weights as graph constants (and its packed int8 params there too).
    graphs = [module.graph] + [getattr(module, name).graph for name in ("forward",) if hasattr(module, name)]
    for sub in module.modules():
        graphs += [getattr(sub, "graph")] if hasattr(sub, "graph") else []
    for graph in graphs:
        for node in graph.findAllNodes("prim::Constant"):
            kind = str(node.output().type())
            if "Tensor" in kind or "Packed" in kind:
                try:
                    value = node.output().toIValue()
                except Exception:  # noqa: BLE001
                    continue
                visit(value.__getstate__() if hasattr(value, "__getstate__") and not isinstance(value, torch.Tensor)
                      else value)
    return _summary(arrays)


COUNTERS = {"onnx": count_onnx, "tflite": count_tflite, "torchscript": count_torchscript}


def count_artifact(fmt: str, path: Path) -> dict:
    return COUNTERS[fmt](Path(path))
