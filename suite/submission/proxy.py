"""The harness-side stand-in for a submitted method.

`is_submitted(spec)`: a file spec (`path/to/file.py:Class`), an installed package's entry point
(group `slimbench.methods`), or a chain with such a stage. Built-in adapters (and classes tests
register directly) run in-process as before.

`submitted_method_class(spec, params)` returns a Method subclass whose class attributes (name,
family, framework, formats, source sha256) and validated config were read *in a worker process*;
its `apply_isolated` runs the real method there too."""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from methods.base import Method
from suite.errors import ConfigError


def _entry_point_names() -> set[str]:
    from importlib.metadata import entry_points
    return {ep.name for ep in entry_points(group="slimbench.methods")}


def is_submitted(spec: str) -> bool:
    stages = [s.strip() for s in spec.split("+")]
    if any(".py:" in s for s in stages):
        return True
    names = _entry_point_names()
    return any(s in names for s in stages)


def _file_digest(spec: str) -> str:
    """Hash of every file a spec names, so the description cache follows edits of the file."""
    h = hashlib.sha256()
    for stage in spec.split("+"):
        if ".py:" in stage:
            path = Path(stage.strip().rpartition(":")[0])
            h.update(path.read_bytes() if path.is_file() else b"<missing>")
    return h.hexdigest()


@lru_cache(maxsize=64)
def _describe(spec: str, params_json: str, digest: str) -> dict:
    from suite.submission.isolation import describe_isolated
    return describe_isolated(spec, json.loads(params_json))


def describe(spec: str, params: dict[str, Any] | None) -> dict:
    return _describe(spec, json.dumps(params or {}, sort_keys=True, default=str), _file_digest(spec))


def submitted_method_class(spec: str, params: dict[str, Any] | None = None) -> type[Method]:
    """A missing file raises at once (nothing recorded, like any bad name); once the file exists, whatever
    goes wrong while the worker imports it (a crash, a timeout, a store write) is kept and raised by
    from_params, so that the harness writes a failed record with the reason."""
    from suite.errors import SlimBenchError

    for stage in spec.split("+"):
        if ".py:" in stage and not Path(stage.strip().rpartition(":")[0]).is_file():
            raise SlimBenchError(f"method file {stage.strip().rpartition(':')[0]} does not exist "
                                 f"(spec {spec!r}; expected path/to/file.py:ClassName)")
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
    if info.get("source_sha256"):
        attrs["source_sha256"] = info["source_sha256"]
    elif ".py:" not in spec:  # entry point: hash the installed module file the class lives in
        attrs["source_sha256"] = entry_point_source_sha256(spec)
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


def entry_point_source_sha256(spec: str) -> str | None:
    path = entry_point_source(spec)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def entry_point_source(spec: str) -> Path | None:
    """The module file an entry point's class is defined in (read, never imported, by the harness)."""
    from importlib.metadata import entry_points
    import importlib.util

    for ep in entry_points(group="slimbench.methods"):
        if ep.name == spec:
            found = importlib.util.find_spec(ep.module)
            if found is not None and found.origin and Path(found.origin).is_file():
                return Path(found.origin)
    return None


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
