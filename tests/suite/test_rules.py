"""suite/rules.py and the helpers that have one home (issue 18): each rule is defined once and every user
applies that definition."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from suite import rules
from suite.artifacts import input_layout

REPO = Path(__file__).resolve().parents[2]


def test_accuracy_gate_at_and_below_the_threshold():
    assert rules.passes_accuracy_gate(rules.MIN_RELATIVE_ACCURACY)
    assert rules.passes_accuracy_gate(rules.MIN_RELATIVE_ACCURACY - 1e-13)  # float rounding of acc / fp32
    assert not rules.passes_accuracy_gate(rules.MIN_RELATIVE_ACCURACY - 1e-6)
    assert not rules.passes_accuracy_gate(None) and not rules.passes_accuracy_gate(float("nan"))
    assert rules.passes_accuracy_gate(0.5, gate=0.5) and not rules.passes_accuracy_gate(0.49, gate=0.5)


def test_accuracy_gate_on_a_column():
    pd = pytest.importorskip("pandas")
    column = pd.Series([1.0, 0.99, 0.98, None])
    assert rules.passes_accuracy_gate(column).tolist() == [True, True, False, False]


def test_input_layout_is_the_one_rule_for_every_exporter():
    assert input_layout((1, 28, 28)) == "NCHW" and input_layout((3, 32, 32), channels_last=True) == "NHWC"
    assert input_layout((64,)) == "flat" and input_layout((128,), channels_last=True) == "flat"


def _grep(pattern: str) -> list[str]:
    out = subprocess.run(["git", "grep", "-nE", pattern, "--", "*.py"], cwd=REPO, capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if not line.startswith("tests/")]


def test_each_rule_is_written_once():
    """grep finds the accuracy gate's number, the layout rule and the default tracks in one module each."""
    assert [line.split(":")[0] for line in _grep(r"= 0\.99\b")] == ["suite/rules.py"]
    assert {line.split(":")[0] for line in _grep(r'"NCHW" if|"NHWC" if|def _layout')} == {"suite/artifacts.py"}
    tracks = [line for line in _grep(r'"digits-mlp", "mnist-lenet300"')]
    assert [line.split(":")[0] for line in tracks] == ["suite/rules.py"], tracks


def test_users_apply_the_rules_module():
    from leaderboard import data
    from suite.submission import ingest, submit

    assert data.Filters().min_relative_accuracy == rules.MIN_RELATIVE_ACCURACY
    assert ingest.MIN_RELATIVE_ACCURACY is rules.MIN_RELATIVE_ACCURACY
    assert tuple(submit.DEFAULT_TRACKS) == rules.SUBMIT_TRACKS
    text = (REPO / "suite" / "suites.py").read_text()
    assert re.search(r"DEFAULT_SUITE_TRACKS", text)


def test_reproduction_tolerances_default_to_the_rules():
    from suite.reproduce.compare import Tolerances

    assert Tolerances().to_dict() == {"acc_pp": rules.REPRODUCE_ACC_TOL_PP,
                                      "speedup_rel": rules.REPRODUCE_SPEEDUP_TOL_REL,
                                      "size_rel": rules.REPRODUCE_SIZE_TOL_REL}
