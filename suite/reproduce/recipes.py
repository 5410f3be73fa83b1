"""One description of each reproduction recipe, generated from its card (reproductions/<name>.json).

The README and docs/pruning.md used to describe the Han et al. recipes in their own words, and the words
drifted from the card (one said 4 rounds x 3 epochs where the card runs 3 x 10). Now the docs hold generated
blocks between markers, and a test fails when a block is not what the cards say:

    <!-- recipes:PREFIX:begin -->   ... one line per card whose name starts with PREFIX ...   <!-- recipes:PREFIX:end -->

    python -m suite.reproduce.recipes           # rewrites the blocks in DOCUMENTS
    python -m suite.reproduce.recipes --check   # exit 1 when a block is stale (what the test checks)
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from suite.paths import REPO_ROOT

DOCUMENTS = (REPO_ROOT / "README.md", REPO_ROOT / "docs" / "pruning.md")
BLOCK = re.compile(r"(<!-- recipes:(?P<prefix>[a-z0-9-]*):begin -->\n)(?P<body>.*?)(<!-- recipes:(?P=prefix):end -->)",
                   re.S)


def _number(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _param(value) -> str:
    return ",".join(_number(v) for v in value) if isinstance(value, (list, tuple)) else _number(value)


def recipe(card: dict) -> str:
    """One markdown line: what `slimbench reproduce --paper NAME` runs, in the card's own numbers."""
    setup, expected = card["setup"], card["expected"]
    params = dict(setup.get("params") or {})
    head = (f"`{card['name']}`: `{setup['method']}` on `{setup['track']}`, target `{setup.get('target', 'cpu')}`, "
            f"seed {setup.get('seed', 0)}")
    if setup["method"] == "torch-magnitude" and params.get("schedule") == "iterative" and "layers_kept_pct" in expected:
        rounds, epochs = int(params["iterations"]), int(params["epochs"])
        kept = " / ".join(f"{layer} {_number(pct)}%" for layer, pct in expected["layers_kept_pct"].items())
        per_round = f"{epochs // rounds}" if epochs % rounds == 0 else f"{epochs / rounds:g}"
        text = (f"{head}: {rounds} rounds of prune → retrain, {per_round} epochs each ({epochs} in all, lr "
                f"{_number(params.get('lr'))}), per-layer magnitude pruning to weights kept {kept} "
                f"({_number(expected['weights_kept_pct'])}% overall, {_number(expected['compression_x'])}x)")
    else:
        shown = ", ".join(f"{k}={_param(v)}" for k, v in params.items() if k != "runs")
        text = head + (f"; params {shown}" if shown else "")
        runs = {name: run for name, run in (setup.get("runs") or {}).items() if isinstance(run, dict)}
        if runs:  # runs besides the setup itself (e.g. a teacher and a baseline student)
            text += "; also runs " + "; ".join(
                f"{name}: `{run['method']}` with " + ", ".join(f"{k}={_param(v)}" for k, v in run.get("params", {}).items())
                for name, run in runs.items())
    return f"- {text}. Card: `reproductions/{card['name']}.json`."


def render(prefix: str) -> str:
    from suite.reproduce.papers import card_names, load_card

    lines = [recipe(load_card(name)) for name in card_names() if name.startswith(prefix)]
    if not lines:
        raise ValueError(f"no reproduction card starts with {prefix!r}")
    return "\n".join(lines) + "\n"


def synced(text: str) -> str:
    """`text` with every recipes block regenerated."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("prefix")) + m.group(4), text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="regenerate the recipe blocks of the docs from the cards")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when a block is stale")
    args = parser.parse_args(argv)
    stale = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        new = synced(text)
        if new != text:
            stale.append(str(path.relative_to(REPO_ROOT)))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if stale:
        print(("stale: " if args.check else "rewrote: ") + ", ".join(stale))
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
