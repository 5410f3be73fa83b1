"""suite/reproduce/recipes.py: one description of each reproduction recipe, generated from its card; the README's
and docs/pruning.md's recipe blocks are what the cards say."""
from __future__ import annotations

import copy

from suite.reproduce import recipes
from suite.reproduce.papers import card_names, load_card


def test_docs_recipe_blocks_match_the_cards():
    assert recipes.main(["--check"]) == 0, "stale recipe blocks: run `python -m suite.reproduce.recipes`"
    readme, pruning = (path.read_text(encoding="utf-8") for path in recipes.DOCUMENTS)
    for name in card_names():
        assert f"- `{name}`:" in readme
    assert "- `han2015-lenet300`:" in pruning and "- `hinton2015-mnist`:" not in pruning


def test_han_lenet300_recipe_says_what_the_card_runs():
    card = load_card("han2015-lenet300")
    line = recipes.recipe(card)
    params = card["setup"]["params"]
    rounds, per_round = params["iterations"], params["epochs"] // params["iterations"]
    assert (rounds, per_round) == (3, 10)
    assert f"{rounds} rounds of prune → retrain, {per_round} epochs each ({params['epochs']} in all" in line
    assert "fc1 8% / fc2 9% / fc3 26%" in line and "12x" in line
    # the card's own prose says the same numbers (it is the one place a person edits)
    description = card["setup"]["description"]
    assert f"{rounds} rounds" in description and f"{per_round} epochs" in description


def test_a_changed_card_changes_the_generated_text(monkeypatch):
    card = copy.deepcopy(load_card("han2015-lenet300"))
    card["setup"]["params"].update(iterations=4, epochs=12)
    assert "4 rounds of prune → retrain, 3 epochs each (12 in all" in recipes.recipe(card)
    from suite.reproduce import papers
    monkeypatch.setattr(papers, "load_card", lambda name: card if name == "han2015-lenet300" else load_card(name))
    text = "x\n<!-- recipes:han2015-lenet300:begin -->\nold words\n<!-- recipes:han2015-lenet300:end -->\ny\n"
    assert recipes.synced(text) == ("x\n<!-- recipes:han2015-lenet300:begin -->\n" + recipes.recipe(card) +
                                    "\n<!-- recipes:han2015-lenet300:end -->\ny\n")
