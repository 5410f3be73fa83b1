"""One registry per plug-in kind (tracks, methods, targets), keyed by a short name."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from suite.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, loader: Callable[[], None] | None = None):
        self.kind = kind
        self._entries: dict[str, type[T]] = {}
        self._loader = loader  # imports the built-in modules on first use (keeps start-up fast)
        self._loaded = False

    def register(self, cls: type[T]) -> type[T]:
        name = getattr(cls, "name", None)
        if not name:
            raise ValueError(f"{cls!r} has no `name`")
        existing = self._entries.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"{self.kind} {name!r} registered twice ({existing.__module__}, {cls.__module__})")
        self._entries[name] = cls
        return cls

    def _ensure_loaded(self) -> None:
        if not self._loaded and self._loader is not None:
            self._loaded = True
            self._loader()

    def get(self, name: str) -> type[T]:
        self._ensure_loaded()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._entries)) from None

    def names(self) -> list[str]:
        self._ensure_loaded()
        return list(self._entries)

    def __iter__(self) -> Iterator[type[T]]:
        self._ensure_loaded()
        return iter(list(self._entries.values()))

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._entries
