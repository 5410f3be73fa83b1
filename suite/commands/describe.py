"""slimbench describe METHOD: a method's parameters, types, defaults and docs (built-in, a submitted file or
entry point, or a chain a+b: each stage, with the prefix its parameters take)."""
from __future__ import annotations


def register(sub):
    p = sub.add_parser("describe", help="print a method's parameters (types, defaults, docs)")
    p.add_argument("method", help="registered name, path/to/file.py:Class, an entry point, or a chain a+b")
    p.set_defaults(func=run)


def describe_spec(text: str) -> list[dict]:
    """One description per stage: name, family, framework, description, formats, parameters. Submitted code is
    read in a sandboxed worker (never imported here)."""
    from suite.methodspec import MethodSpec

    spec = MethodSpec.parse(text)
    if spec.submitted:
        from suite.submission.proxy import describe
        from suite.submission.sandbox import require_sandbox

        spec.check_files_exist()
        require_sandbox(f"describing method {spec.text!r}")
        info = describe(spec.text, {})
        return info["stages"] if spec.is_chain else [{**info, "parameters": info.get("parameters") or []}]
    from methods.describe import describe_class
    from methods.resolve import stage_class
    return [describe_class(stage_class(s)) for s in spec.stages]


def format_description(stages: list[dict]) -> str:
    from suite.methodspec import MethodSpec

    names = [s.get("name") or "?" for s in stages]
    prefixes = MethodSpec.parse("+".join(["x"] * len(stages)), entry_names=set()).prefixes(names) \
        if len(stages) > 1 else [""]
    lines = []
    for i, (stage, prefix) in enumerate(zip(stages, prefixes)):
        head = f"stage {i + 1}: " if len(stages) > 1 else ""
        lines.append(f"{head}{stage.get('name')}  ({stage.get('family')}, {stage.get('framework')}; formats "
                     f"{', '.join(stage.get('formats') or [])})")
        if stage.get("description"):
            lines.append(f"  {stage['description']}")
        params = stage.get("parameters") or []
        if not params:
            lines.append("  no parameters")
            continue
        rows = [((f"{prefix}.{p['name']}" if prefix else p["name"]), p["type"], _default_text(p["default"]),
                 p.get("doc") or "") for p in params]
        widths = [max(len(r[i]) for r in rows + [("parameter", "type", "default", "")]) for i in range(3)]
        lines.append("  parameters (--param NAME=VALUE):")
        lines.append("    " + "  ".join(h.ljust(w) for h, w in zip(("parameter", "type", "default"), widths)) + "  doc")
        for row in rows:
            lines.append(("    " + "  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[3]).rstrip())
    return "\n".join(lines)


def _default_text(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value)) or "(empty)"
    return str(value)


def run(args) -> int:
    print(format_description(describe_spec(args.method)))
    return 0
