"""The README's results table is generated from the published records and must stay in sync with them."""
from leaderboard.readme_table import BEGIN, END, build_table, non_default_params
from suite.paths import REPO_ROOT


def test_readme_table_matches_the_published_records():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    table = build_table(REPO_ROOT / "leaderboard" / "results")
    assert table.count("\n") > 10 and "| mnist-lenet5 | cpu | `fp32` |" in table
    assert block == table, "README results table is stale: run `python -m leaderboard.readme_table`"


def test_only_params_that_differ_from_the_current_defaults_are_shown():
    assert non_default_params("torch-magnitude", {"sparsity": 0.9, "scope": "global", "lr": 0.0}) == {}
    assert non_default_params("torch-magnitude", {"sparsity": 0.9, "scope": "layer", "layer_sparsity": []}) == {
        "scope": "layer"}
    chain = {"torch-magnitude": {"sparsity": 0.9}}
    assert non_default_params("torch-magnitude+ort-int8-static", chain) == chain
