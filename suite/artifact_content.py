"""An artifact's content, independent of its bytes: `tensors_sha256(path, format)`.

Two exports of the same model can differ in their bytes (producer and converter version strings, metadata
buffers, tensor names, the order tensors are stored in) while holding the same numbers. What a reproduction
must match is the numbers, so a record carries `artifact.tensors_sha256`: the sha256 of the sorted list of
per-tensor digests of every constant tensor (weights, biases, quantization scales and zero points), each
digest over the tensor's dtype, shape and raw values. Names, order and metadata do not enter it.

The files are only *parsed* here (ONNX protobuf, the TFLite flatbuffer, TorchScript's zip of raw storages):
nothing is executed or unpickled, so a submitted method's artifact is safe to hash in the harness process.
Unknown formats and unreadable files give None (the reproduction then compares the size only)."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path


def _combine(digests: list[str]) -> str | None:
    """None when there is nothing to hash (no constant tensor found: the content cannot be judged)."""
    return hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest() if digests else None


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else bytes(part)
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


# -- ONNX ------------------------------------------------------------------------------------------------------
def _onnx_tensors(graph):
    from onnx import AttributeProto

    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.TENSOR:
                yield attr.t
            elif attr.type == AttributeProto.TENSORS:
                yield from attr.tensors
            elif attr.type == AttributeProto.GRAPH:
                yield from _onnx_tensors(attr.g)
            elif attr.type == AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from _onnx_tensors(g)


def onnx_tensors_sha256(path: Path) -> str | None:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path), load_external_data=False)
    digests = []
    for tensor in _onnx_tensors(model.graph):
        array = numpy_helper.to_array(tensor)
        digests.append(_digest(str(array.dtype), repr(tuple(array.shape)), array.tobytes()))
    return _combine(digests)


# -- TFLite (flatbuffer, read with the flatbuffers runtime and the schema's field slots) -------------------------
# tensorflow/compiler/mlir/lite/schema/schema.fbs: a field's vtable slot is 4 + 2 * its index.
_MODEL_SUBGRAPHS, _MODEL_BUFFERS = 2, 4
_SUBGRAPH_TENSORS = 0
_TENSOR_SHAPE, _TENSOR_TYPE, _TENSOR_BUFFER, _TENSOR_QUANTIZATION = 0, 1, 2, 4
_QUANT_SCALE, _QUANT_ZERO_POINT = 2, 3
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2


def _slot(index: int) -> int:
    return 4 + 2 * index


def _tables(tab, index: int):
    from flatbuffers.table import Table

    o = tab.Offset(_slot(index))
    if not o:
        return []
    start = tab.Vector(o)
    return [Table(tab.Bytes, tab.Indirect(start + 4 * i)) for i in range(tab.VectorLen(o))]


def _table(tab, index: int):
    from flatbuffers.table import Table

    o = tab.Offset(_slot(index))
    return Table(tab.Bytes, tab.Indirect(o + tab.Pos)) if o else None


def _scalar(tab, index: int, flags, default=0):
    o = tab.Offset(_slot(index))
    return tab.Get(flags, o + tab.Pos) if o else default


def _numbers(tab, index: int, flags) -> bytes:
    if tab is None:
        return b""
    o = tab.Offset(_slot(index))
    return tab.GetVectorAsNumpy(flags, o).tobytes() if o else b""


def tflite_tensors_sha256(path: Path) -> str | None:
    from flatbuffers import encode, packer
    from flatbuffers import number_types as N
    from flatbuffers.table import Table

    raw = Path(path).read_bytes()
    buf = bytearray(raw)
    model = Table(buf, encode.Get(packer.uoffset, buf, 0))
    buffers = _tables(model, _MODEL_BUFFERS)
    digests = []
    for subgraph in _tables(model, _MODEL_SUBGRAPHS):
        for tensor in _tables(subgraph, _SUBGRAPH_TENSORS):
            index = _scalar(tensor, _TENSOR_BUFFER, N.Uint32Flags)
            if not 0 < index < len(buffers):
                continue
            buffer = buffers[index]
            data = _numbers(buffer, _BUFFER_DATA, N.Uint8Flags)
            offset = _scalar(buffer, _BUFFER_OFFSET, N.Uint64Flags)
            if not data and offset > 1:  # a large model's buffers live after the flatbuffer
                data = raw[offset:offset + _scalar(buffer, _BUFFER_SIZE, N.Uint64Flags)]
            if not data:
                continue  # activations: no constant data
            quant = _table(tensor, _TENSOR_QUANTIZATION)
            digests.append(_digest(str(_scalar(tensor, _TENSOR_TYPE, N.Int8Flags)),
                                   _numbers(tensor, _TENSOR_SHAPE, N.Int32Flags), data,
                                   _numbers(quant, _QUANT_SCALE, N.Float32Flags),
                                   _numbers(quant, _QUANT_ZERO_POINT, N.Int64Flags)))
    return _combine(digests)


# -- TorchScript (a zip: raw tensor storages under <archive>/data/ and, for a frozen module, <archive>/constants/;
#    code and pickles elsewhere) ----------------------------------------------------------------------------------
def torchscript_tensors_sha256(path: Path) -> str | None:
    digests = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            parts = info.filename.split("/")
            if len(parts) >= 3 and parts[-2] in ("data", "constants") and not parts[-1].endswith(".pkl"):
                digests.append(_digest(archive.read(info)))
    return _combine(digests)


HASHERS = {"onnx": onnx_tensors_sha256, "tflite": tflite_tensors_sha256, "torchscript": torchscript_tensors_sha256}


def tensors_sha256(path: Path, fmt: str) -> str | None:
    """The content hash of the artifact's constant tensors, or None when it cannot be read."""
    hasher = HASHERS.get(fmt)
    if hasher is None:
        return None
    try:
        return hasher(Path(path))
    except Exception:  # an unreadable artifact: the reproduction says the content was not judged
        return None


def artifact_section(artifact) -> dict:
    """A record's `artifact` section for an ExportedArtifact: format, file sha256 and bytes, how to feed it, who
    made it, and `tensors_sha256` (its content, what a reproduction compares; None when unreadable)."""
    return {"format": artifact.format, "sha256": artifact.sha256(), "bytes": artifact.bytes,
            "input_layout": artifact.input_layout, "framework": artifact.framework,
            "tensors_sha256": tensors_sha256(artifact.path, artifact.format)}
