"""`slimbench reproduce ID|BUNDLE`: verdict checks and tolerances, published records, clear errors."""
from __future__ import annotations

import copy
import json

import pytest

from suite.cli import main
from suite.harness import RunSpec, Session
from suite.measure.latency import QUICK
from suite.records.store import RecordStore, validate
from suite.submission.verdict import Tolerances, make_verdict
from tests.conftest import requires_mnist


def _record(acc=0.9, size=1000, single=2.0, offline=3.0, status="ok"):
    return {"id": "a" * 16, "status": status, "config": {"track": "t", "method": "m", "target": "cpu", "seed": 0},
            "results": {"accuracy": acc, "size": {"artifact_bytes": size}, "speedup_single_stream": single,
                        "speedup_offline": offline},
            "artifact": {"format": "onnx", "sha256": "0" * 64}}


@pytest.mark.parametrize("change, failing", [
    ({}, set()),
    ({"acc": 0.9009}, set()),                       # +0.09 pp
    ({"acc": 0.9012}, {"accuracy_pct"}),            # +0.12 pp
    ({"size": 1001}, {"artifact_bytes"}),           # one byte
    ({"single": 2.0 * 1.10}, set()),                # +10%
    ({"single": 2.0 * 1.20}, {"speedup_single_stream"}),
    ({"offline": 3.0 * 0.80}, {"speedup_offline"}),  # -20%
])
def test_default_tolerances(change, failing):
    verdict = make_verdict(_record(), _record(**change), Tolerances())
    assert {c["name"] for c in verdict["checks"] if not c["passed"]} == failing
    assert verdict["passed"] is (not failing)
    assert verdict["of"] == "a" * 16
    for check in verdict["checks"]:
        assert set(check) == {"name", "expected", "measured", "tolerance", "passed"}


def test_a_failed_rerun_fails_the_verdict():
    rerun = _record(status="failed")
    rerun["error"] = {"type": "X", "message": "boom"}
    verdict = make_verdict(_record(), rerun, Tolerances())
    assert not verdict["passed"] and verdict["checks"][0]["name"] == "status"


def test_size_tolerance_is_explicit():
    verdict = make_verdict(_record(), _record(size=1001), Tolerances(size_rel=0.01))
    assert verdict["passed"] and "not byte-deterministic" in verdict["checks"][3]["tolerance"]


def test_published_fp32_record_reproduces_with_default_tolerances(tmp_path, monkeypatch, capsys):
    """A record found only in the published results (leaderboard/results) is re-run; the verdict goes to
    the local store and is a valid record."""
    from suite import paths

    published = tmp_path / "published"
    original = Session(published, settings=QUICK, workdir=tmp_path / "w", measure_memory=False).run(
        RunSpec("digits-mlp", "fp32", "cpu"))
    monkeypatch.setattr(paths, "PUBLISHED_RESULTS", published)
    store = tmp_path / "store"
    assert main(["reproduce", original["id"][:10], "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "reproduced: 1 record(s)" in out
    (reproduction,) = RecordStore(store).records()
    validate(reproduction)
    assert reproduction["kind"] == "reproduction" and reproduction["verdict"]["passed"]
    assert reproduction["config"]["method"] == "fp32"
    assert {c["name"]: c["measured"] for c in reproduction["verdict"]["checks"]}["speedup_single_stream"] == 1.0


def test_clear_errors(tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["reproduce", "0123456789abcdef", "--store", str(store)]) == 2
    assert "neither a bundle/record path nor a record id" in capsys.readouterr().err

    failed = Session(store, settings=QUICK, workdir=tmp_path / "w", measure_memory=False).run(
        RunSpec("digits-mlp", "fp32", "cpu", params={"bits": "3"}))
    assert main(["reproduce", failed["id"], "--store", str(store)]) == 2
    assert "failed run; there are no numbers to reproduce" in capsys.readouterr().err


def test_missing_method_source_is_a_clear_error(tmp_path, capsys):
    store = tmp_path / "store"
    record = Session(store, settings=QUICK, workdir=tmp_path / "w", measure_memory=False).run(
        RunSpec("digits-mlp", "fp32", "cpu"))
    forged = copy.deepcopy(record)
    forged["config"].update(method="gone/away.py:Thing", method_source_sha256="f" * 64)
    forged.pop("id")
    path = RecordStore(store).write(forged)
    assert main(["reproduce", path.stem, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "with sha256 ffff" in err and "ingest the submission's bundle" in err


@requires_mnist
def test_mnist_lenet5_fp32_record_reproduces(tmp_path, monkeypatch):
    """Acceptance: reproducing a (published) mnist-lenet5 record passes. fp32 accuracy and artifact bytes
    are deterministic; its speedup is 1.0 by definition."""
    from suite import paths
    from suite.submission.reproduce import reproduce

    published = tmp_path / "published"
    original = Session(published, settings=QUICK, workdir=tmp_path / "w", measure_memory=False).run(
        RunSpec("mnist-lenet5", "fp32", "cpu"))
    assert original["status"] == "ok"
    monkeypatch.setattr(paths, "PUBLISHED_RESULTS", published)
    ((orig, reproduction, verdict),) = reproduce(original["id"], tmp_path / "store", echo=lambda *_: None)
    assert verdict["passed"], json.dumps(verdict, indent=1)
    checks = {c["name"]: c for c in verdict["checks"]}
    assert checks["accuracy_pct"]["measured"] == checks["accuracy_pct"]["expected"]
    assert checks["artifact_bytes"]["measured"] == checks["artifact_bytes"]["expected"]
