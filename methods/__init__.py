"""Method adapters (pruning, quantization, distillation) behind one small interface.

METHODS is the registry; built-ins load lazily, installed packages add more through the
`slimbench.methods` entry-point group, and a file can be named as `path/to/file.py:ClassName`."""
from __future__ import annotations

import importlib

from suite.registry import Registry

_BUILTIN_PACKAGES = ["methods.baseline", "methods.quantization", "methods.pruning", "methods.distillation"]


def _load_builtin() -> None:
    for module in _BUILTIN_PACKAGES:
        importlib.import_module(module)
    _load_entry_points()


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="slimbench.methods"):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plug-in must not break `slimbench list`
            import warnings
            warnings.warn(f"method entry point {ep.name!r} ({ep.value}) failed to load: {exc}")
            continue
        if getattr(cls, "name", None) not in METHODS._entries:
            METHODS.register(cls)


METHODS = Registry("method", loader=_load_builtin)
