"""The harness-side stand-in for a submitted method.

`is_submitted(spec)`: a file spec (`path/to/file.py:Class`), an installed package's entry point, or a chain
with such a stage (suite.methodspec.MethodSpec.submitted). Built-in adapters (and classes tests
register directly) run in-process as before.

`submitted_method_class(spec, params)` returns a Method subclass whose class attributes (name,
family, framework, formats, source sha256) and validated config were read *in a worker process*;
its `apply_isolated` runs the real method there too."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from methods.base import Method
from suite.errors import ConfigError
from suite.methodspec import MethodSpec


def is_submitted(spec: str | MethodSpec) -> bool:
    return MethodSpec.parse(spec).submitted


@lru_cache(maxsize=64)
def _describe(spec: str, params_json: str, digest: str) -> dict:
    from suite.submission.isolation import describe_isolated
    return describe_isolated(spec, json.loads(params_json))


def describe(spec: str, params: dict[str, Any] | None) -> dict:
    return _describe(str(spec), json.dumps(params or {}, sort_keys=True, default=str),
                     MethodSpec.parse(spec).files_digest())


def submitted_method_class(spec: str, params: dict[str, Any] | None = None) -> type[Method]:
    """A missing file raises at once (nothing recorded, like any bad name); once the file exists, whatever
    goes wrong while the worker imports it (a crash, a timeout, a store write) is kept and raised by
    from_params, so that the harness writes a failed record with the reason."""
    from suite.errors import SlimBenchError

    parsed = MethodSpec.parse(spec)
    spec = parsed.text
    parsed.check_files_exist()
    from suite.submission.sandbox import require_sandbox
    require_sandbox(f"method {spec!r}")  # refused before anything is recorded; built-ins never get here
    try:
        info = describe(spec, params)
    except SlimBenchError as exc:
        from suite.artifacts import FORMATS
        return type("Submitted[undescribed]", (IsolatedMethod,), {
            "name": spec, "family": "unknown", "framework": "unknown", "description": "", "formats": FORMATS,
            "spec": spec, "described": {}, "isolated": True, "describe_error": exc})
    missing = [k for k in ("name", "family", "framework", "formats") if not info.get(k)]
    if missing:
        raise ConfigError(f"submitted method {spec!r} does not define {', '.join(missing)} "
                          "(see docs/submitting.md)")
    check_described(spec, info)
    attrs = {"name": info["name"], "family": info["family"], "framework": info["framework"],
             "description": info.get("description") or "", "formats": tuple(info["formats"]),
             "spec": spec, "described": info, "isolated": True}
    if not parsed.is_chain:  # a file's sha256 as the worker read it; an entry point's installed module file
        attrs["source_sha256"] = info.get("source_sha256") or parsed.single.source_sha256()
    else:  # every submitted stage carries its own source sha256 (config.method_stages)
        attrs["stage_sources"] = stage_sources(parsed, info.get("stage_names"))
    return type(f"Submitted[{info.get('class', info['name'])}]", (IsolatedMethod,), attrs)


PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+/-]{0,63}$")


def check_described(spec: str, info: dict) -> None:
    """What a submitted class says about itself goes into records and onto the leaderboard: plain short
    names only (no markup, no control characters), a known family, known artifact formats."""
    from methods.base import FAMILIES
    from suite.artifacts import FORMATS

    problems = []
    for key in ("name", "framework"):
        if not isinstance(info.get(key), str) or not PLAIN_NAME.match(info[key]):
            problems.append(f"{key} {info.get(key)!r} is not a plain name (letters, digits, . _ + / -; "
                            "at most 64 characters)")
    if info.get("family") not in FAMILIES:
        problems.append(f"family {info.get('family')!r} is not one of {', '.join(FAMILIES)}")
    formats = info.get("formats")
    if not isinstance(formats, list) or not formats or any(f not in FORMATS for f in formats):
        problems.append(f"formats {formats!r} are not among {', '.join(FORMATS)}")
    description = info.get("description") or ""
    if not isinstance(description, str) or len(description) > 500 or any(ord(c) < 32 for c in description):
        problems.append("description is not one line of at most 500 characters")
    if problems:
        raise ConfigError(f"submitted method {spec!r}: " + "; ".join(problems))


def stage_sources(spec: MethodSpec, names: list | None = None) -> list[dict]:
    """One entry per stage of a chain for the record (config.method_stages): the method's name, its kind, and
    for submitted code the short spec (no directories) and the sha256 of its source."""
    names = list(names or [s.label for s in spec.stages])
    out = []
    for i, (stage, name) in enumerate(zip(spec.stages, names)):
        entry = {"stage": i + 1, "method": name, "kind": stage.kind}
        if stage.submitted:
            entry.update(spec=stage.label, source_sha256=stage.source_sha256())
        out.append(entry)
    return out


def entry_point_source_sha256(spec: str) -> str | None:
    return MethodSpec.parse(spec).single.source_sha256()


def entry_point_source(spec: str) -> Path | None:
    """The module file an entry point's class is defined in (read, never imported, by the harness)."""
    return MethodSpec.parse(spec).single.source_file()


class IsolatedMethod(Method):
    """Built by `submitted_method_class`; never imports the submitted code in this process."""
    isolated = True
    spec: str
    described: dict

    @classmethod
    def from_params(cls, params: dict[str, Any] | None = None) -> "IsolatedMethod":
        if getattr(cls, "describe_error", None) is not None:
            raise cls.describe_error
        info = describe(cls.spec, params)
        if info.get("config_error"):
            raise ConfigError(info["config_error"])
        method = cls(config=None)
        method.raw_params = dict(params or {})
        method.validated_params = info.get("params") or {}
        return method

    def __init__(self, config: Any = None):
        self.config = config
        self.raw_params: dict = {}
        self.validated_params: dict = {}

    def params(self) -> dict[str, Any]:
        return dict(self.validated_params)

    def apply(self, model, context):
        """Outside the harness (which passes its store): guard the default and the published stores."""
        from suite import paths
        return self.apply_isolated(context, [paths.default_store(), paths.PUBLISHED_RESULTS])

    def apply_isolated(self, context, guard_dirs: list[Path], settings=None):
        from suite.submission.isolation import apply_isolated
        return apply_isolated(self.spec, self.raw_params, context, guard_dirs, settings)
