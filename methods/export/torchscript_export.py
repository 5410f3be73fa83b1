"""PyTorch -> TorchScript archive (the `torchscript` format run by the `cpu-torch` target).

TorchScript is used rather than pickle so a target never unpickles arbitrary objects; it also keeps
PyTorch's quantized int8 modules (x86 / fbgemm kernels) intact."""
from __future__ import annotations

from pathlib import Path


def export_torchscript(model, input_shape: tuple[int, ...], path: Path, input_dtype: str | None = None) -> Path:
    """input_dtype: of the traced example input; default: the model's `input_dtype` attribute, else float32."""
    import torch

    model = model.eval()
    dtype = getattr(torch, input_dtype or getattr(model, "input_dtype", "float32"))
    example = torch.zeros((1, *input_shape), dtype=dtype)
    with torch.inference_mode():
        traced = torch.jit.trace(model, example, check_trace=False)
    traced = torch.jit.freeze(traced) if hasattr(traced, "graph") and not _is_quantized(model) else traced
    torch.jit.save(traced, str(path))
    return Path(path)


def _is_quantized(model) -> bool:
    return any("quantized" in type(m).__module__ for m in model.modules())
