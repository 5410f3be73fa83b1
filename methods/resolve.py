"""Turn a method spec from the CLI/records into a Method instance.

Specs: a registered name (`ort-int8-static`), a file (`path/to/file.py:ClassName`), or a chain of
specs joined by `+` (`torch-magnitude+ort-int8-static`)."""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from methods import METHODS
from methods.base import Method
from suite.errors import ConfigError, SlimBenchError


def load_method_class(spec: str) -> type[Method]:
    if ".py:" in spec:
        return load_method_file(spec)
    return METHODS.get(spec)


def load_method_file(spec: str) -> type[Method]:
    file_part, _, class_name = spec.rpartition(":")
    path = Path(file_part)
    if not path.is_file():
        raise SlimBenchError(f"method file {path} does not exist (spec {spec!r}; expected path/to/file.py:ClassName)")
    source = path.read_bytes()
    module_name = f"slimbench_submitted_{hashlib.sha256(source).hexdigest()[:12]}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise SlimBenchError(f"method file {path} failed to import: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if cls is None or not (isinstance(cls, type) and issubclass(cls, Method)):
        raise SlimBenchError(f"{path} has no Method subclass named {class_name!r}")
    cls.source_sha256 = hashlib.sha256(source).hexdigest()
    cls.source_path = str(path)
    return cls


def resolve_method_class(spec: str) -> type[Method]:
    """The class a spec names (a chain resolves to ChainMethod after checking every stage exists)."""
    if "+" in spec:
        from methods.chain import ChainMethod
        for stage in spec.split("+"):
            load_method_class(stage.strip())
        return ChainMethod
    return load_method_class(spec)


def resolve_method(spec: str, params: dict[str, Any] | None = None) -> Method:
    params = dict(params or {})
    if "+" in spec:
        from methods.chain import ChainMethod  # Deep-Compression-style pipelines
        return ChainMethod.from_spec(spec, params)
    cls = load_method_class(spec)
    try:
        return cls.from_params(params)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{spec}: bad config: {exc}") from exc
