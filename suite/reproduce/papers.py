"""The published results SlimBench reproduces: `PAPERS` maps a card name to its runner.

A reproduction is two things with the same name:

- a card, `reproductions/<name>.json`: citation, the table reproduced, the setup (track, method, target,
  params), the paper's expected numbers and the tolerance of the verdict (see reproductions/README.md);
- a runner, `run(card: dict, ctx: ReproduceContext) -> Verdict`, registered here with `@register_paper(name)`.
  It runs the setup through the harness with `ctx.run(spec, judge, card)` (records of kind "reproduction"
  carrying the verdict) and returns the `Verdict` (suite/reproduce/verdict.py: named checks of paper vs
  measured, each judged within tolerance or shown as context). `slimbench reproduce --paper NAME` prints it and exits 0 only on PASS.

To add one: write the card, then a runner either below or in a module of its own listed in RUNNER_MODULES."""
from __future__ import annotations

import hashlib
import importlib
import json
from typing import Callable

from suite.errors import SlimBenchError, UnknownNameError
from suite.paths import REPO_ROOT
from suite.registry import Registry

CARDS_DIR = REPO_ROOT / "reproductions"
CARD_KEYS = ("name", "title", "citation", "table", "setup", "expected", "tolerance")

# Modules whose import registers runners (kept lazy: `slimbench list` must not import torch).
RUNNER_MODULES = ["suite.reproduce.han2015", "suite.reproduce.hinton2015", "suite.reproduce.mlperf_tiny"]

PAPERS: Registry[Callable] = Registry("paper")  # card name -> runner(card, ctx) -> Verdict
_loaded = False


def register_paper(name: str):
    """Decorator: register `fn(card, ctx) -> Verdict` as the runner of card `name`."""
    def deco(fn):
        return PAPERS.register(fn, name)  # a second runner under one name is refused
    return deco


def paper_verdict(card: dict):
    """An empty verdict of kind "paper" naming the card (its path and sha256 when loaded by `load_card`)."""
    from suite.reproduce.verdict import PAPER, Verdict
    return Verdict(PAPER, paper=card["name"], title=card["title"], card=card.get("_path"),
                   card_sha256=card.get("_sha256"), citation=card.get("citation") or {})


def run_setup(card: dict, ctx, judge: Callable):
    """The runner of a card with one run: its `setup` through the harness, judged by `judge(card, record)`."""
    _, verdict = ctx.run(ctx.spec(card["setup"]), lambda record: judge(card, record), card)
    return verdict


def load_runners() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in RUNNER_MODULES:
            importlib.import_module(module)


def card_names() -> list[str]:
    return sorted(p.stem for p in CARDS_DIR.glob("*.json"))


def paper_names() -> list[str]:
    """Papers that have both a card and a runner."""
    load_runners()
    return sorted(set(card_names()) & set(PAPERS.names()))


def load_card(name: str) -> dict:
    path = CARDS_DIR / f"{name}.json"
    if not path.is_file():
        raise UnknownNameError("paper", name, card_names())
    raw = path.read_bytes()
    try:
        card = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SlimBenchError(f"reproduction card {path} is not valid JSON: {exc}") from None
    missing = [k for k in CARD_KEYS if k not in card]
    if missing:
        raise SlimBenchError(f"reproduction card {path} lacks {', '.join(missing)} (a card needs "
                             f"{', '.join(CARD_KEYS)})")
    if card["name"] != name:
        raise SlimBenchError(f"reproduction card {path} is named {card['name']!r}; the file name says {name!r}")
    card["_path"] = str(path.relative_to(REPO_ROOT))
    card["_sha256"] = hashlib.sha256(raw).hexdigest()
    return card


def get_runner(name: str) -> Callable:
    load_runners()
    if name not in PAPERS:
        if name in card_names():
            raise SlimBenchError(f"paper {name!r} has a card (reproductions/{name}.json) but no runner registered "
                                 f"in suite.reproduce.papers.PAPERS")
        raise UnknownNameError("paper", name, paper_names())
    return PAPERS[name]
