"""What `slimbench describe METHOD` prints: a method's parameters (name, type, default, doc) read from its
Config dataclass. A parameter's doc is `field(metadata={"doc": ...})` or, as the built-ins write it, the comment
at the end of the field's line."""
from __future__ import annotations

import dataclasses
import inspect
import io
import tokenize
import typing


def _type_name(hint) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(hint))
    if origin in (tuple, list) and Ellipsis in typing.get_args(hint) or origin is list:
        inner = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"list of {_type_name(inner[0]) if inner else 'str'} (comma-separated)"
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(hint) if a is not Ellipsis)
        return f"{getattr(origin, '__name__', str(origin))}[{args}]" if args else getattr(origin, "__name__", str(origin))
    return getattr(hint, "__name__", str(hint))


def _field_comments(config_cls) -> dict[str, str]:
    """field name -> the comment at the end of its line."""
    try:
        source = inspect.getsource(config_cls)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (OSError, TypeError, tokenize.TokenError, IndentationError):
        return {}
    names = {f.name for f in dataclasses.fields(config_cls)}
    line_name: dict[int, str] = {}
    comments: dict[str, str] = {}
    for i, tok in enumerate(tokens):
        if (tok.type == tokenize.NAME and tok.string in names and i + 1 < len(tokens) and tokens[i + 1].string == ":"
                and tok.line[:tok.start[1]].strip() == ""):
            line_name[tok.start[0]] = tok.string
        elif tok.type == tokenize.COMMENT and tok.start[0] in line_name:
            comments[line_name[tok.start[0]]] = tok.string.lstrip("#").strip()
    return comments


def describe_parameters(method_cls) -> list[dict]:
    """[{name, type, default, doc}] of a method class's Config (empty for a method without parameters)."""
    config = getattr(method_cls, "Config", None)
    if config is None or not dataclasses.is_dataclass(config):
        return []
    hints = typing.get_type_hints(config)
    comments = _field_comments(config)
    out = []
    for f in dataclasses.fields(config):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default = None
        out.append({"name": f.name, "type": _type_name(hints.get(f.name, typing.Any)),
                    "default": list(default) if isinstance(default, tuple) else default,
                    "doc": str(f.metadata.get("doc") or comments.get(f.name) or "")})
    return out


def describe_class(method_cls) -> dict:
    return {"name": getattr(method_cls, "name", None), "family": getattr(method_cls, "family", None),
            "framework": getattr(method_cls, "framework", None),
            "description": getattr(method_cls, "description", "") or "",
            "formats": list(getattr(method_cls, "formats", ()) or ()),
            "parameters": describe_parameters(method_cls)}
