"""What `--method` accepts, parsed once.

A method spec is one stage or a chain of stages joined by `+` (`torch-magnitude+ort-int8-static`). Each stage
is one of:

- a built-in (a name registered in `methods.METHODS`, e.g. `ort-int8-static`);
- a file, `path/to/file.py:ClassName` (a submitted method);
- an entry point: the name of an installed package's entry point in group `ENTRY_POINT_GROUP`
  (a submitted method, too).

`MethodSpec.parse(text)` is the only place that reads that syntax; every caller (resolution, isolation,
submit, reproduce, the leaderboard) asks the parsed spec instead of testing the string. This module imports
nothing from `methods/` (the leaderboard and the harness use it without the adapters). Parameters are routed
to stages by `MethodSpec.route_params` (prefix a key with the stage's method name, its spec or its 1-based
position; an unprefixed key goes to the one stage whose config has it)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from suite.errors import ConfigError

ENTRY_POINT_GROUP = "slimbench.methods"  # the one spelling of the group name

BUILTIN, FILE, ENTRY_POINT = "builtin", "file", "entry_point"
FILE_SUFFIX = ".py:"
CHAIN_SEPARATOR = "+"


def entry_points():
    """The installed entry points of group ENTRY_POINT_GROUP (metadata only: nothing is imported)."""
    from importlib.metadata import entry_points as installed
    return list(installed(group=ENTRY_POINT_GROUP))


def entry_point_names() -> set[str]:
    return {ep.name for ep in entry_points()}


def find_entry_point(name: str):
    return next((ep for ep in entry_points() if ep.name == name), None)


@dataclass(frozen=True)
class Stage:
    """One stage of a spec. `text` is what was written; for a file, `path` and `class_name` are its parts."""
    text: str
    kind: str
    path: Path | None = None
    class_name: str | None = None

    @classmethod
    def parse(cls, text: str, entry_names: set[str] | None = None) -> "Stage":
        text = text.strip()
        if not text:
            raise ConfigError("empty method stage")
        if FILE_SUFFIX in text:
            file_part, _, class_name = text.rpartition(":")
            if not class_name:
                raise ConfigError(f"method file spec {text!r} names no class (expected path/to/file.py:ClassName)")
            return cls(text, FILE, Path(file_part), class_name)
        names = entry_point_names() if entry_names is None else entry_names
        return cls(text, ENTRY_POINT if text in names else BUILTIN)

    @property
    def submitted(self) -> bool:
        """Submitted code (a file or an entry point): described, applied and measured isolated."""
        return self.kind != BUILTIN

    @property
    def label(self) -> str:
        """Short display name: a file `dir/x.py:Class` shows as `x.py:Class` (never a directory)."""
        if self.kind == FILE:
            return f"{self.path.name}:{self.class_name}"
        return self.text

    def with_path(self, path: Path | str) -> "Stage":
        """The same file stage read from another place (a sandbox copy, a stored source)."""
        if self.kind != FILE:
            raise ValueError(f"stage {self.text!r} is not a file")
        return replace(self, text=f"{path}:{self.class_name}", path=Path(path))

    def file_sha256(self) -> str | None:
        """sha256 of the file a file stage names (None when missing or not a file stage)."""
        if self.kind == FILE and self.path.is_file():
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        return None

    def source_file(self) -> Path | None:
        """The source of submitted code: the file itself, or the module file an entry point's class lives in
        (found from the metadata, never imported)."""
        if self.kind == FILE:
            return self.path if self.path.is_file() else None
        if self.kind == ENTRY_POINT:
            import importlib.util
            ep = find_entry_point(self.text)
            if ep is not None:
                found = importlib.util.find_spec(ep.module)
                if found is not None and found.origin and Path(found.origin).is_file():
                    return Path(found.origin)
        return None

    def source_sha256(self) -> str | None:
        path = self.source_file()
        return hashlib.sha256(path.read_bytes()).hexdigest() if path else None

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class MethodSpec:
    stages: tuple[Stage, ...]

    @classmethod
    def parse(cls, text: "str | MethodSpec", entry_names: set[str] | None = None) -> "MethodSpec":
        """`entry_names`: the entry-point names to tell built-ins from entry points (default: those installed)."""
        if isinstance(text, MethodSpec):
            return text
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"method spec {text!r} is empty")
        parts = text.split(CHAIN_SEPARATOR)
        if len(parts) > 1 and any(not p.strip() for p in parts):
            raise ConfigError(f"method chain {text!r} needs two or more non-empty stages joined by "
                              f"{CHAIN_SEPARATOR!r}")
        names = entry_point_names() if entry_names is None else entry_names
        return cls(tuple(Stage.parse(p, names) for p in parts))

    @property
    def text(self) -> str:
        return CHAIN_SEPARATOR.join(s.text for s in self.stages)

    @property
    def is_chain(self) -> bool:
        return len(self.stages) > 1

    @property
    def submitted(self) -> bool:
        """True when any stage is submitted code (then the whole spec runs isolated)."""
        return any(s.submitted for s in self.stages)

    @property
    def label(self) -> str:
        return CHAIN_SEPARATOR.join(s.label for s in self.stages)

    @property
    def single(self) -> Stage:
        if self.is_chain:
            raise ConfigError(f"{self.text!r} is a chain; one stage expected")
        return self.stages[0]

    def files(self) -> list[Stage]:
        return [s for s in self.stages if s.kind == FILE]

    def with_stages(self, stages: Sequence[Stage]) -> "MethodSpec":
        return MethodSpec(tuple(stages))

    def missing_files(self) -> list[Path]:
        return [s.path for s in self.files() if not s.path.is_file()]

    def check_files_exist(self) -> None:
        from suite.errors import SlimBenchError
        missing = self.missing_files()
        if missing:
            raise SlimBenchError(f"method file {missing[0]} does not exist (spec {self.text!r}; expected "
                                 "path/to/file.py:ClassName)")

    def files_digest(self) -> str:
        """Hash of every file the spec names (follows edits of a file between two reads)."""
        h = hashlib.sha256()
        for stage in self.files():
            h.update(stage.path.read_bytes() if stage.path.is_file() else b"<missing>")
        return h.hexdigest()

    def prefixes(self, names: Sequence[str] | None = None) -> list[str]:
        """The key prefix each stage's parameters get in a record: the stage's method name (a file's class
        `name`, never its path), or its 1-based position where that name occurs twice."""
        names = list(names or [s.label for s in self.stages])
        return [str(i + 1) if names.count(n) > 1 else n for i, n in enumerate(names)]

    def route_params(self, params: dict[str, Any], fields: Sequence[Sequence[str]],
                     names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Split chain params into one dict per stage. A key's prefix may be the stage's method name, its spec
        text or its 1-based position; an unprefixed key goes to the one stage whose config has it."""
        names = list(names or [s.label for s in self.stages])
        texts = [s.text for s in self.stages]
        per_stage: list[dict[str, Any]] = [{} for _ in self.stages]
        for key, value in params.items():
            matches = []
            for i, (text, name) in enumerate(zip(texts, names)):
                for prefix in {text, name, str(i + 1)}:
                    if key.startswith(prefix + "."):
                        matches.append((len(prefix), i, prefix, key[len(prefix) + 1:]))
            if matches:
                _, i, prefix, sub = max(matches)
                owners = [j for j, (t, n) in enumerate(zip(texts, names)) if prefix in (t, n)]
                if len(owners) > 1:
                    raise ConfigError(f"chain param {key!r}: stage {prefix!r} appears more than once; prefix the "
                                      f"key with the stage position instead (e.g. {owners[0] + 1}.{sub})")
                per_stage[i][sub] = value
                continue
            owners = [i for i, f in enumerate(fields) if key in f]
            if len(owners) == 1:
                per_stage[owners[0]][key] = value
            elif not owners:
                valid = [f"{p}.{f}" for p, fs in zip(self.prefixes(names), fields) for f in fs]
                raise ConfigError(f"chain param {key!r} matches no stage of {CHAIN_SEPARATOR.join(names)}; "
                                  f"valid: {', '.join(valid) or '(none)'}")
            else:
                raise ConfigError(f"chain param {key!r} is ambiguous: stages {', '.join(names[i] for i in owners)} "
                                  f"all take it; prefix it, e.g. {names[owners[0]]}.{key}=...")
        return per_stage

    def __str__(self) -> str:
        return self.text


def parse(text: "str | MethodSpec") -> MethodSpec:
    return MethodSpec.parse(text)


@lru_cache(maxsize=4096)
def method_label(text: str) -> str:
    """Short display name of a recorded spec (no directories); tolerant of anything a record may hold."""
    try:
        return MethodSpec.parse(text, entry_names=frozenset()).label
    except ConfigError:
        return str(text)
