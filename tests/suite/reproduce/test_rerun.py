"""`slimbench reproduce ID|BUNDLE`: the record verdict's checks and tolerances (suite/reproduce/compare.py),
published records, records made on a CPU of another ISA class, clear errors."""
from __future__ import annotations

import copy
import json

import pytest

from suite import rules
from suite.cli import main
from suite.harness import RunSpec, Session
from suite.measure.latency import QUICK
from suite.records.store import RecordStore, validate
from suite.reproduce.compare import Tolerances, record_verdict
from tests.conftest import requires_mnist

AVX2 = {"model": "AMD EPYC", "isa_class": "x86-avx2"}
VNNI = {"model": "Intel Xeon", "isa_class": "x86-avx512-vnni"}


def _record(acc=0.9, size=1000, single=2.0, offline=3.0, status="ok", sha="0" * 64, tensors="1" * 64, cpu=AVX2):
    return {"id": "a" * 16, "status": status, "config": {"track": "t", "method": "m", "target": "cpu", "seed": 0},
            "results": {"accuracy": acc, "size": {"artifact_bytes": size}, "speedup_single_stream": single,
                        "speedup_offline": offline},
            "artifact": {"format": "onnx", "sha256": sha, "tensors_sha256": tensors},
            "provenance": {"cpu": dict(cpu)}}


@pytest.mark.parametrize("change, failing", [
    ({}, set()),
    ({"acc": 0.9009}, set()),                       # +0.09 pp
    ({"acc": 0.9012}, {"accuracy_pct"}),            # +0.12 pp
    ({"size": 1001, "sha": "2" * 64}, set()),       # one byte of exporter metadata, same tensor values
    ({"size": 1100, "sha": "2" * 64}, {"artifact_bytes"}),          # +10%: not metadata
    ({"sha": "2" * 64, "tensors": "3" * 64}, {"artifact_tensors"}),  # same size, other numbers
    ({"single": 2.0 * 1.10}, set()),                # +10%
    ({"single": 2.0 * 1.20}, {"speedup_single_stream"}),
    ({"offline": 3.0 * 0.80}, {"speedup_offline"}),  # -20%
])
def test_default_tolerances(change, failing):
    verdict = record_verdict(_record(), _record(**change))
    assert set(verdict.failed_checks()) == failing
    assert verdict.passed is (not failing)
    assert verdict.of == "a" * 16 and verdict.original["isa_class"] == "x86-avx2"
    assert verdict.tolerances == {"acc_pp": rules.REPRODUCE_ACC_TOL_PP,
                                  "speedup_rel": rules.REPRODUCE_SPEEDUP_TOL_REL,
                                  "size_rel": rules.REPRODUCE_SIZE_TOL_REL}
    names = [c.name for c in verdict.checks]
    assert names == ["status", "accuracy_pct", "artifact_format", "artifact_tensors", "artifact_bytes",
                     "speedup_single_stream", "speedup_offline"]


def test_speed_outside_the_tolerance_passes_only_within_both_runs_noise():
    """Two honest runs of a noisy configuration can differ beyond ±15%; where both records carry 95% intervals the
    check asks whether the difference is beyond both runs' noise (suite.measure.between_runs.agree)."""
    def with_ci(single, ci):
        record = _record(single=single)
        record["results"]["speedup_single_stream_ci"] = ci
        return record
    noisy = record_verdict(with_ci(1.40, [1.18, 1.66]), with_ci(1.70, [1.45, 2.00]))  # +21%, wide intervals
    (check,) = [c for c in noisy.checks if c.name == "speedup_single_stream"]
    assert check.passed and "within both runs' 95% noise" in check.note, check
    precise = record_verdict(with_ci(1.40, [1.38, 1.42]), with_ci(1.70, [1.68, 1.72]))  # +21%, ±1.5% each
    (check,) = [c for c in precise.checks if c.name == "speedup_single_stream"]
    assert check.passed is False and "beyond both runs' 95% noise" in check.note
    one_sided = record_verdict(with_ci(1.40, [1.18, 1.66]), _record(single=1.70))  # the re-run has no interval
    assert "speedup_single_stream" in one_sided.failed_checks()


def test_speed_across_isa_classes_is_shown_not_judged():
    """A record made on an AVX-512 VNNI Xeon, re-run on an AVX2 EPYC: int8 speed ratios differ by design."""
    verdict = record_verdict(_record(single=3.5, offline=4.0, cpu=VNNI), _record(single=1.2, offline=1.5))
    assert verdict.passed, verdict.failed_checks()
    speed = {c.name: c for c in verdict.checks if c.name.startswith("speedup")}
    for check in speed.values():
        assert check.passed is None and check.tolerance == "speed not comparable: x86-avx512-vnni vs x86-avx2"
    assert (speed["speedup_single_stream"].expected, speed["speedup_single_stream"].measured) == (3.5, 1.2)
    # ...but accuracy and content are still judged on the other machine
    assert not record_verdict(_record(cpu=VNNI), _record(acc=0.95)).passed
    assert not record_verdict(_record(cpu=VNNI), _record(sha="2" * 64, tensors="3" * 64)).passed
    # a record whose CPU cannot be classed is never compared on speed either
    unknown = record_verdict(_record(cpu={"model": "?"}), _record(single=9.0))
    assert unknown.passed and "speed not comparable: unknown vs x86-avx2" in unknown.checks[-1].tolerance


def test_older_records_without_a_tensor_hash_are_judged_on_size():
    verdict = record_verdict(_record(sha="0" * 64, tensors=None), _record(sha="2" * 64, size=1001))
    tensors = next(c for c in verdict.checks if c.name == "artifact_tensors")
    assert tensors.passed is None and "no tensor hash" in tensors.note
    assert verdict.passed
    assert not record_verdict(_record(tensors=None), _record(sha="2" * 64, size=900)).passed


def test_a_failed_rerun_fails_the_verdict():
    rerun = _record(status="failed")
    rerun["error"] = {"type": "X", "message": "boom"}
    verdict = record_verdict(_record(), rerun)
    assert not verdict.passed and verdict.checks[0].name == "status" and "boom" in verdict.checks[0].measured


def test_tolerances_are_explicit_and_refuse_nan():
    from suite.errors import ConfigError

    verdict = record_verdict(_record(), _record(size=1001, sha="2" * 64), Tolerances(size_rel=0.0))
    assert verdict.failed_checks() == ["artifact_bytes"]
    with pytest.raises(ConfigError, match="NaN"):
        Tolerances(acc_pp=float("nan"))


def _published(tmp_path, monkeypatch, method="fp32", target="cpu"):
    from suite import paths

    published = tmp_path / "published"
    original = Session(published, settings=QUICK, workdir=tmp_path / "w", measure_memory=False).run(
        RunSpec("digits-mlp", method, target))
    assert original["status"] == "ok", original.get("error")
    monkeypatch.setattr(paths, "PUBLISHED_RESULTS", published)
    return published, original


def test_published_fp32_record_reproduces_with_default_tolerances(tmp_path, monkeypatch, capsys):
    """A record found only in the published results (leaderboard/results) is re-run; the verdict goes to
    the local store and is a valid record."""
    _, original = _published(tmp_path, monkeypatch)
    assert original["artifact"]["tensors_sha256"]
    store = tmp_path / "store"
    assert main(["reproduce", original["id"][:10], "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "VERDICT: PASS" in out and "reproduced: 1 record(s)" in out
    (reproduction,) = RecordStore(store).records()
    validate(reproduction)
    verdict = reproduction["verdict"]
    assert reproduction["kind"] == "reproduction" and verdict["kind"] == "record" and verdict["passed"]
    assert verdict["of"] == original["id"] and reproduction["config"]["method"] == "fp32"
    checks = {c["name"]: c for c in verdict["checks"]}
    assert checks["speedup_single_stream"]["measured"] == 1.0 and checks["speedup_single_stream"]["passed"]
    assert checks["artifact_tensors"]["passed"] is True


def test_record_from_a_cpu_of_another_isa_class_reproduces(tmp_path, monkeypatch, capsys):
    """Acceptance (issue 19): a published record made on a different CPU (an AVX-512 VNNI Xeon, its exporter
    writing a few bytes more, int8-class speed ratios) reproduces here when accuracy and artifact content match;
    the speed lines say "speed not comparable" and do not fail it."""
    published, original = _published(tmp_path, monkeypatch, "tflite-int8", "edge")
    here = original["provenance"]["cpu"]["isa_class"]
    assert here != VNNI["isa_class"]
    elsewhere = copy.deepcopy(original)
    elsewhere.pop("id")
    (published / f"{original['id']}.json").unlink()
    elsewhere["provenance"]["cpu"].update(model="Intel(R) Xeon(R) Platinum 8480+", vendor="GenuineIntel",
                                          isa_class=VNNI["isa_class"],
                                          flags=sorted({*elsewhere["provenance"]["cpu"].get("flags", []),
                                                        "avx512f", "avx512_vnni"}))
    elsewhere["results"]["speedup_single_stream"] *= 3.0   # VNNI int8 kernels: far faster than here
    elsewhere["results"]["speedup_offline"] *= 3.0
    elsewhere["results"]["size"]["artifact_bytes"] += 48  # converter metadata: tens of bytes
    elsewhere["artifact"]["sha256"] = "e" * 64             # so the file bytes differ; the tensors do not
    path = RecordStore(published).write(elsewhere)

    store = tmp_path / "store"
    assert main(["reproduce", path.stem, "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert f"speed not comparable: x86-avx512-vnni vs {here}" in out and "VERDICT: PASS" in out
    (reproduction,) = RecordStore(store).records()
    checks = {c["name"]: c for c in reproduction["verdict"]["checks"]}
    assert checks["accuracy_pct"]["passed"] and checks["artifact_tensors"]["passed"]
    assert checks["artifact_bytes"]["passed"]
    assert checks["speedup_single_stream"]["passed"] is None and checks["speedup_offline"]["passed"] is None

    # the same record with other tensor values does not reproduce, whatever the CPU
    tampered = copy.deepcopy(elsewhere)
    tampered["artifact"]["tensors_sha256"] = "f" * 64
    path = RecordStore(published).write(tampered)
    assert main(["reproduce", path.stem, "--store", str(store)]) == 1
    assert "artifact_tensors" in capsys.readouterr().out


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
    """Acceptance: reproducing a (published) mnist-lenet5 record passes. fp32 accuracy and artifact content
    are deterministic; its speedup is 1.0 by definition."""
    from suite import paths
    from suite.reproduce.rerun import reproduce

    published = tmp_path / "published"
    original = Session(published, settings=QUICK, workdir=tmp_path / "w", measure_memory=False).run(
        RunSpec("mnist-lenet5", "fp32", "cpu"))
    assert original["status"] == "ok"
    monkeypatch.setattr(paths, "PUBLISHED_RESULTS", published)
    ((orig, reproduction, verdict),) = reproduce(original["id"], tmp_path / "store", echo=lambda *_: None)
    assert verdict.passed, json.dumps(verdict.to_dict(), indent=1)
    checks = {c.name: c for c in verdict.checks}
    assert checks["accuracy_pct"].measured == checks["accuracy_pct"].expected
    assert checks["artifact_tensors"].passed


def test_a_chain_with_a_submitted_stage_reproduces(tmp_path, monkeypatch, capsys):
    """Issue 19: a chain holding a submitted file stage is re-run from its record: the stage's source is found
    by the sha256 the record carries for it (config.method_stages), wherever the file now is."""
    from suite import paths
    from suite.paths import REPO_ROOT
    from suite.submission.launcher import isolated

    source = tmp_path / "elsewhere" / "neuron_prune.py"
    source.parent.mkdir()
    source.write_bytes((REPO_ROOT / "examples" / "submission" / "neuron_prune.py").read_bytes())
    published = tmp_path / "published"
    session = Session(published, settings=QUICK, workdir=tmp_path / "w", measure_memory=False, applier=isolated())
    original = session.run(RunSpec("digits-mlp", f"{source}:NeuronPrune+ort-int8-dynamic", "cpu"))
    assert original["status"] == "ok", original.get("error")
    stages = original["config"]["method_stages"]
    assert stages[0]["source_sha256"] and "/" not in original["config"]["method"]
    source.unlink()  # the re-run must find the source by its sha256, not by the path it was run from
    (tmp_path / "store" / "method-sources" / stages[0]["source_sha256"]).mkdir(parents=True)
    (tmp_path / "store" / "method-sources" / stages[0]["source_sha256"] / "neuron_prune.py").write_bytes(
        (REPO_ROOT / "examples" / "submission" / "neuron_prune.py").read_bytes())
    monkeypatch.setattr(paths, "PUBLISHED_RESULTS", published)
    # (speed ratios of quick timings on a busy test machine are noise: --speed-tol wide; this test is about sources)
    code = main(["reproduce", original["id"], "--store", str(tmp_path / "store"), "--speed-tol", "100"])
    out = capsys.readouterr().out
    assert code == 0 and "VERDICT: PASS" in out, out
