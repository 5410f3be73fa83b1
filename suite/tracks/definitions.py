"""Production model *definitions* from torchvision and Hugging Face transformers (never their weights).

Why a helper instead of a plain `import torchvision`: PyPI's torchvision wheels are built against the CUDA
build of torch. Beside the CPU torch wheel this project pins, torchvision's compiled ops (`torchvision/_C.so`)
cannot load (it links libc10_cuda.so), which torchvision tolerates -- except that its import then registers
fake kernels for `torchvision::nms` / `torchvision::qnms` unconditionally and fails with "operator
torchvision::nms does not exist". transformers imports torchvision when it is installed, so it fails too.
We only need the pure-Python model definitions, so when (and only when) the compiled ops are missing we declare
those two operator schemas -- no kernels -- before importing. Detection ops (nms) stay unusable, as they would
be anyway without `_C.so`; no model we build calls them. Where torchvision's ops do load (a CUDA torch, or a
CPU torchvision build), nothing is declared."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from suite.lazy import require

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_declared = None  # the torch.library.Library holding the declarations (must stay alive)


def _torchvision_ops_load() -> bool:
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return True  # not installed: nothing to work around (require() reports the missing extra)
    lib = next(Path(spec.submodule_search_locations[0]).glob("_C*.so"), None)
    if lib is None:
        return False
    try:
        torch.ops.load_library(str(lib))
        return True
    except OSError:
        return False


def _declare_missing_ops() -> None:
    global _declared
    if _declared is not None or _torchvision_ops_load():
        return
    import torch

    lib = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS.values():
        lib.define(schema)
    _declared = lib


def torchvision_models():
    """`torchvision.models`, importable beside the CPU torch wheel."""
    require("torch", "torch")
    _declare_missing_ops()
    return require("torchvision.models", "speed")


def transformers_module():
    """`transformers` (model classes built from configs; nothing is downloaded)."""
    require("torch", "torch")
    _declare_missing_ops()
    return require("transformers", "speed")
