"""One registry per plug-in kind (tracks, methods, targets, suites, papers), keyed by a short name.

A registry may check that what is registered derives from a base class, may load installed packages' entry
points of a group, and loads a class from a file (`load_file`, for submitted methods). An unknown name is
refused with the valid names and the close ones ("did you mean ...")."""
from __future__ import annotations

import difflib
import hashlib
import importlib.util
import sys
import warnings
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, TypeVar

from suite.errors import SlimBenchError, UnknownNameError

T = TypeVar("T")
_REFUSE = object()


class Registry(Generic[T]):
    def __init__(self, kind: str, loader: Callable[[], None] | None = None, base: type | None = None,
                 entry_point_group: str | None = None):
        self.kind = kind
        self.base = base                       # registered classes must derive from it (None: anything)
        self.entry_point_group = entry_point_group
        self._entries: dict[str, Any] = {}
        self._loader = loader  # imports the built-in modules on first use (keeps start-up fast)
        self._loaded = False

    def register(self, obj: T, name: str | None = None) -> T:
        """Register a class (keyed by its `name`) or any object under an explicit `name`."""
        name = name or getattr(obj, "name", None)
        if not name:
            raise ValueError(f"{obj!r} has no `name`")
        self.check_base(obj, f"{self.kind} {name!r}")
        existing = self._entries.get(name)
        if existing is not None and existing is not obj:
            raise ValueError(f"{self.kind} {name!r} registered twice ({getattr(existing, '__module__', existing)}, "
                             f"{getattr(obj, '__module__', obj)})")
        self._entries[name] = obj
        return obj

    def check_base(self, obj, what: str) -> None:
        if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise SlimBenchError(f"{what} is not a {self.base.__name__} subclass ({obj!r})")

    def _ensure_loaded(self) -> None:
        if not self._loaded and self._loader is not None:
            self._loaded = True
            self._loader()
            if self.entry_point_group:
                self.load_entry_points()

    def load_entry_points(self) -> None:
        """Register the installed entry points of the group (a broken plug-in warns, it never breaks a listing)."""
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.entry_point_group):
            try:
                obj = ep.load()
                self.check_base(obj, f"entry point {ep.name!r} ({ep.value})")
            except Exception as exc:
                warnings.warn(f"{self.kind} entry point {ep.name!r} ({ep.value}) failed to load: {exc}")
                continue
            if getattr(obj, "name", None) not in self._entries:
                self.register(obj)

    def load_file(self, path: Path | str, attr: str) -> T:
        """The class `attr` defined in Python file `path` (imported under a name derived from its sha256, so two
        versions of one file never clash); it gets `source_sha256` and `source_path`."""
        path = Path(path)
        if not path.is_file():
            raise SlimBenchError(f"{self.kind} file {path} does not exist (expected path/to/file.py:ClassName)")
        source = path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        module_name = f"slimbench_submitted_{digest[:12]}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            raise SlimBenchError(f"{self.kind} file {path} failed to import: {type(exc).__name__}: {exc}") from exc
        obj = getattr(module, attr, None)
        if obj is None:
            close = difflib.get_close_matches(attr, [n for n in vars(module) if not n.startswith("_")], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise SlimBenchError(f"{path} has no {self._base_name()} named {attr!r}{hint}")
        if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise SlimBenchError(f"{path} has no {self._base_name()} named {attr!r} ({attr} is not a "
                                 f"{self.base.__name__} subclass)")
        obj.source_sha256 = digest
        obj.source_path = str(path)
        return obj

    def _base_name(self) -> str:
        return f"{self.base.__name__} subclass" if self.base is not None else "attribute"

    def get(self, name: str, default: Any = _REFUSE) -> T:
        """The entry `name`; an unknown name raises UnknownNameError (valid and close names) unless a default
        is given (as dict.get)."""
        self._ensure_loaded()
        try:
            return self._entries[name]
        except KeyError:
            if default is not _REFUSE:
                return default
            raise UnknownNameError(self.kind, name, list(self._entries)) from None

    def names(self) -> list[str]:
        self._ensure_loaded()
        return list(self._entries)

    def items(self) -> list[tuple[str, T]]:
        self._ensure_loaded()
        return list(self._entries.items())

    def __iter__(self) -> Iterator[T]:
        self._ensure_loaded()
        return iter(list(self._entries.values()))

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._entries)

    # mapping access by name (tests swap an entry with monkeypatch.setitem)
    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __setitem__(self, name: str, obj: T) -> None:
        self.check_base(obj, f"{self.kind} {name!r}")
        self._entries[name] = obj

    def __delitem__(self, name: str) -> None:
        del self._entries[name]
