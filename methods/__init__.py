"""Method adapters (pruning, quantization, distillation) behind one small interface.

METHODS is the registry; built-ins load lazily, installed packages add more through the entry-point group
`suite.methodspec.ENTRY_POINT_GROUP`, and a file can be named as `path/to/file.py:ClassName`
(what `--method` accepts is parsed by `suite.methodspec.MethodSpec`)."""
from __future__ import annotations

import importlib

from methods.base import Method
from suite.methodspec import ENTRY_POINT_GROUP
from suite.registry import Registry

_BUILTIN_PACKAGES = ["methods.baseline", "methods.quantization", "methods.pruning", "methods.distillation",
                     "methods.clustering"]


def _load_builtin() -> None:
    for module in _BUILTIN_PACKAGES:
        importlib.import_module(module)


METHODS = Registry("method", loader=_load_builtin, base=Method, entry_point_group=ENTRY_POINT_GROUP)
