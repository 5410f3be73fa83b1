"""Turn a method spec from the CLI/records into a Method class or instance.

The spec's syntax (built-in name, `path/to/file.py:ClassName`, entry point, chains `a+b`) is parsed by
`suite.methodspec.MethodSpec`; every stage resolves through the one registry, `methods.METHODS` (files with
`METHODS.load_file`, entry points and built-ins by name). Chains are assembled here from their stages'
classes (`methods.chain` knows nothing about specs)."""
from __future__ import annotations

import dataclasses
from typing import Any

from methods import METHODS
from methods.base import Method
from methods.chain import ChainMethod
from suite.errors import ConfigError
from suite.methodspec import FILE, MethodSpec, Stage


def stage_class(stage: Stage) -> type[Method]:
    if stage.kind == FILE:
        return METHODS.load_file(stage.path, stage.class_name)
    return METHODS.get(stage.text)


def load_method_class(spec: str | Stage) -> type[Method]:
    """The class of one stage."""
    stage = spec if isinstance(spec, Stage) else MethodSpec.parse(spec).single
    return stage_class(stage)


def resolve_method_class(spec: str | MethodSpec) -> type[Method]:
    """The class a spec names (a chain resolves to ChainMethod after checking every stage exists)."""
    spec = MethodSpec.parse(spec)
    classes = [stage_class(s) for s in spec.stages]
    return ChainMethod if spec.is_chain else classes[0]


def config_fields(cls: type[Method]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls.Config)] if dataclasses.is_dataclass(cls.Config) else []


def resolve_method(spec: str | MethodSpec, params: dict[str, Any] | None = None) -> Method:
    spec = MethodSpec.parse(spec)
    params = dict(params or {})
    if spec.is_chain:  # Deep-Compression-style pipelines
        return build_chain(spec, params)
    cls = stage_class(spec.single)
    try:
        return cls.from_params(params)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{spec}: bad config: {exc}") from exc


def build_chain(spec: MethodSpec, params: dict[str, Any]) -> ChainMethod:
    classes = [stage_class(s) for s in spec.stages]
    for stage, cls in zip(spec.stages, classes):
        if cls is ChainMethod:
            raise ConfigError(f"chain stage {stage.text!r} is itself a chain; write the stages out flat")
    names = [getattr(cls, "name", stage.label) for stage, cls in zip(spec.stages, classes)]
    per_stage = spec.route_params(params, [config_fields(c) for c in classes], names)
    stages = []
    for stage, name, cls, p in zip(spec.stages, names, classes, per_stage):
        try:
            stages.append(cls.from_params(p))
        except ConfigError as exc:
            raise ConfigError(f"chain stage {name!r}: {exc}") from None
        except Exception as exc:
            raise ConfigError(f"chain stage {name!r}: bad config: {exc}") from exc
    return ChainMethod(names, stages, spec)
