"""Reproduction framework: cards, the papers registry, verdicts, records of kind reproduction, the CLI."""
from __future__ import annotations

import copy

import pytest

from suite.errors import SlimBenchError, UnknownNameError
from tests.conftest import requires_mnist

HAN = ["han2015-lenet300", "han2015-lenet5"]


@pytest.mark.parametrize("name", HAN)
def test_han_cards_are_complete_and_consistent(name):
    from suite.reproduce.papers import load_card, paper_names

    card = load_card(name)
    assert name in paper_names()
    assert card["citation"]["arxiv"] == "1506.02626"
    setup, expected = card["setup"], card["expected"]
    assert setup["method"] == "torch-magnitude" and setup["target"] == "cpu"
    # the method's per-layer sparsities are the paper's per-layer fractions kept
    kept = [round(100 * (1 - s), 6) for s in setup["params"]["layer_sparsity"]]
    assert kept == list(expected["layers_kept_pct"].values())
    assert card["tolerance"]["error_gap_pp"] == 0.15
    # the method accepts the card's params as they are
    from methods.pruning.magnitude import TorchMagnitude
    TorchMagnitude.from_params({k: tuple(v) if isinstance(v, list) else v for k, v in setup["params"].items()})


def test_unknown_paper_lists_the_known_ones():
    from suite.reproduce.papers import get_runner, load_card

    with pytest.raises(UnknownNameError, match="han2015-lenet300"):
        load_card("nope2099")
    with pytest.raises(UnknownNameError):
        get_runner("nope2099")


def test_card_without_runner_says_so(tmp_path, monkeypatch):
    from suite.reproduce import papers

    card = papers.load_card("han2015-lenet300")
    monkeypatch.setattr(papers, "CARDS_DIR", tmp_path)
    import json
    bad = {k: v for k, v in card.items() if not k.startswith("_")} | {"name": "orphan2001"}
    (tmp_path / "orphan2001.json").write_text(json.dumps(bad))
    (tmp_path / "broken2002.json").write_text(json.dumps({"name": "broken2002"}))
    with pytest.raises(SlimBenchError, match="no runner registered"):
        papers.get_runner("orphan2001")
    with pytest.raises(SlimBenchError, match="lacks title, citation"):
        papers.load_card("broken2002")


def _ok_record(acc, acc_fp32, kept_layers, weights_kept, compression_x, target="cpu"):
    return {"status": "ok", "config": {"target": target},
            "artifact": {"format": "onnx"},
            "results": {"accuracy": acc, "accuracy_fp32": acc_fp32, "test_samples": 10000,
                        "method_info": {"weights_kept": weights_kept, "weight_compression_x": compression_x,
                                        "layers": {k: {"kept": v} for k, v in kept_layers.items()}}}}


def test_judge_pass_fail_and_baseline_note():
    from suite.reproduce.han2015 import judge_pruning
    from suite.reproduce.papers import load_card
    from suite.reproduce.verdict import format_verdict

    card = load_card("han2015-lenet300")
    layers = {"fc1": 0.08, "fc2": 0.09, "fc3": 0.26}
    # baseline 1.59% error, pruned 1.62%: gap +0.03 pp vs the paper's -0.05 -> within 0.15
    good = judge_pruning(card, _ok_record(0.9838, 0.9841, layers, 0.0818, 12.22))
    assert good.passed
    text = format_verdict(good)
    assert "OUR BASELINE DIFFERS" in text and "VERDICT: PASS" in text
    assert "error gap (pruned - baseline)" in text and "+0.03 pp" in text and "-0.05 pp" in text
    # pruned 1.80%: gap +0.21 pp -> FAIL on the gap row only
    bad = judge_pruning(card, _ok_record(0.9820, 0.9841, layers, 0.0818, 12.22))
    assert not bad.passed
    assert bad.failed_checks() == ["error gap (pruned - baseline)"]
    assert "VERDICT: FAIL" in format_verdict(bad)
    # right accuracy but not the paper's sparsity -> FAIL
    sparse_wrong = judge_pruning(card, _ok_record(0.9841, 0.9841, {"fc1": 0.2, "fc2": 0.09, "fc3": 0.26},
                                                  0.19, 5.2))
    assert not sparse_wrong.passed
    assert {"fc1 weights kept", "weights kept (all layers)", "weight compression"} == {
        c.name for c in sparse_wrong.checks if c.passed is False}


def test_reproduction_record_carries_the_verdict(tmp_path):
    """End to end on digits-mlp with a throw-away card: one record, kind reproduction, verdict inside."""
    from suite.measure.latency import QUICK
    from suite.records.store import load_record
    from suite.reproduce.han2015 import judge_pruning
    from suite.reproduce.papers import load_card
    from suite.reproduce.runner import ReproduceContext

    card = copy.deepcopy(load_card("han2015-lenet300"))
    card["name"], card["title"] = "toy-digits", "toy"
    card["setup"] = {"track": "digits-mlp", "method": "torch-magnitude", "target": "cpu", "seed": 0,
                     "params": {"scope": "layer", "layer_sparsity": [0.92, 0.91, 0.74], "schedule": "iterative",
                                "iterations": 2,
                                "epochs": 2}}
    card["tolerance"] = dict(card["tolerance"], error_gap_pp=100.0)  # digits is no MNIST: judge the plumbing
    ctx = ReproduceContext(store=tmp_path / "store", settings=QUICK, measure_memory=False, workdir=tmp_path / "w")
    record, verdict = ctx.run(ctx.spec(card["setup"]), lambda r: judge_pruning(card, r), card)
    assert record["status"] == "ok", record.get("error")
    assert record["kind"] == "reproduction"
    assert record["verdict"]["kind"] == "paper" and record["verdict"]["paper"] == "toy-digits"
    assert record["verdict"]["passed"] is verdict.passed
    assert record["verdict"]["card_sha256"] == card["_sha256"]
    assert record["config"]["method_params"]["layer_sparsity"] == [0.92, 0.91, 0.74]
    assert verdict.records == [record["id"]]
    # fc1 of the digits MLP is 64x128, so fc1 kept 8% = 655 of 8192 (rounding keeps it within ±0.5 pp)
    rows = {c.name: c for c in verdict.checks}
    assert rows["fc1 weights kept"].passed and rows["fc3 weights kept"].passed
    assert load_record(tmp_path / "store" / f"{record['id']}.json")["verdict"] == record["verdict"]


def test_reproduction_of_a_failing_method_is_a_failed_record_and_verdict(tmp_path):
    from suite.measure.latency import QUICK
    from suite.reproduce.han2015 import judge_pruning
    from suite.reproduce.papers import load_card
    from suite.reproduce.runner import ReproduceContext
    from suite.reproduce.verdict import format_verdict

    card = copy.deepcopy(load_card("han2015-lenet300"))
    setup = {"track": "digits-mlp", "method": "torch-magnitude", "target": "cpu",
             "params": {"scope": "layer", "layer_sparsity": [0.5, 0.5]}}  # wrong layer count: fails inside apply
    ctx = ReproduceContext(store=tmp_path / "store", settings=QUICK, measure_memory=False, workdir=tmp_path / "w")
    record, verdict = ctx.run(ctx.spec(setup), lambda r: judge_pruning(card, r), card)
    assert record["status"] == "failed" and record["kind"] == "reproduction"
    assert record["verdict"]["passed"] is False and "layer_sparsity" in record["verdict"]["error"]
    assert not verdict.passed and "VERDICT: FAIL" in format_verdict(verdict)


def test_cli_list_and_unknown_paper(capsys):
    from suite.cli import main

    assert main(["reproduce", "--list-papers"]) == 0
    out = capsys.readouterr().out
    assert "han2015-lenet300" in out and "han2015-lenet5" in out
    assert main(["reproduce", "--paper", "nope2099"]) == 2
    assert "unknown paper 'nope2099'" in capsys.readouterr().err


def test_cli_paper_and_list_are_exclusive():
    from suite.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce", "--paper", "han2015-lenet300", "--list-papers"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reproduce"])


@pytest.mark.slow
@requires_mnist
@pytest.mark.parametrize("name", HAN)
def test_han2015_reproduces(name, tmp_path, capsys):
    """The full reproduction (minutes on 2 cores): `slimbench reproduce --paper NAME` must PASS."""
    from suite.cli import main

    code = main(["reproduce", "--paper", name, "--store", str(tmp_path / "store"), "--quick", "--no-memory"])
    out = capsys.readouterr().out
    assert "VERDICT: PASS" in out, out
    assert code == 0
