"""The hinton2015-mnist reproduction: card consistency, the verdict's arithmetic, and the runner end to end
(on digits-mlp with a shrunken card, so it takes seconds; the real card runs on MNIST for minutes)."""
from __future__ import annotations

import copy

import pytest


def _card():
    from suite.reproduce.papers import load_card
    return load_card("hinton2015-mnist")


def test_card_is_registered_and_its_params_are_valid_configs():
    from methods import METHODS
    from suite.reproduce.papers import paper_names
    from suite.tracks import get_track

    card = _card()
    assert "hinton2015-mnist" in paper_names()
    assert card["citation"]["arxiv"] == "1503.02531"
    setup = card["setup"]
    kd = METHODS.get(setup["method"]).from_params(setup["params"]).config
    assert kd.temperature == card["expected"]["temperature"] == 20
    teacher = card["setup"]["runs"]["teacher"]
    alone = card["setup"]["runs"]["student_alone"]
    scratch_teacher = METHODS.get(teacher["method"]).from_params(teacher["params"]).config
    scratch_alone = METHODS.get(alone["method"]).from_params(alone["params"]).config
    # the teacher run trains exactly the teacher kd-hinton trains (same architecture, seed, epochs, regularisation)
    assert (scratch_teacher.student, scratch_teacher.epochs, scratch_teacher.dropout, scratch_teacher.input_dropout,
            scratch_teacher.jitter) == (kd.teacher, kd.teacher_epochs, kd.teacher_dropout, kd.teacher_input_dropout,
                                        kd.teacher_jitter)
    assert teacher["seed"] == alone["seed"] == setup["seed"]
    # the student alone is the distilled student's architecture and budget, without regularisation
    assert (scratch_alone.student, scratch_alone.epochs) == (kd.student, kd.epochs)
    assert scratch_alone.dropout == scratch_alone.input_dropout == scratch_alone.jitter == 0
    track = get_track(setup["track"])
    assert {kd.teacher, kd.student} <= set(track.architectures)
    # the paper's fraction of the gap recovered
    e = card["expected"]
    assert (e["student_alone_errors"] - e["distilled_errors"]) / (e["student_alone_errors"] - e["teacher_errors"]) \
        == pytest.approx(e["gap_recovered"], abs=0.005)


def _record(errors: int, info: dict | None = None):
    return {"status": "ok", "config": {"target": "cpu"}, "artifact": {"format": "onnx"},
            "results": {"accuracy": 1 - errors / 10000, "test_samples": 10000, "method_info": info or {}}}


@pytest.mark.parametrize("teacher, alone, distilled, passed, failing", [
    (67, 146, 74, True, []),                              # the paper's own numbers
    (100, 180, 130, True, []),                            # 50 / 80 = 0.625 of the gap: within ±0.4 of 0.91
    (100, 180, 170, False, ["gap recovered (alone - distilled) / (alone - teacher)"]),   # 0.125
    (100, 180, 190, False, ["distillation helps (alone - distilled errors)",
                            "gap recovered (alone - distilled) / (alone - teacher)"]),
    (190, 180, 170, False, ["teacher beats the student alone (alone - teacher errors)",
                            "gap recovered (alone - distilled) / (alone - teacher)"]),
])
def test_verdict_checks_the_shape(teacher, alone, distilled, passed, failing):
    from suite.reproduce.hinton2015 import judge_distillation
    from suite.reproduce.verdict import format_verdict

    records = {"teacher": _record(teacher, {"student_alone_val_accuracy": 0.98}),
               "student_alone": _record(alone),
               "distilled": _record(distilled, {"teacher_val_accuracy": 0.98, "temperature": 20.0, "alpha": 0.1,
                                                "epochs": 5, "teacher_epochs": 5})}
    verdict = judge_distillation(_card(), records)
    assert verdict.passed is passed
    assert verdict.failed_checks() == failing
    text = format_verdict(verdict)
    assert "146 errors" in text and f"{distilled} errors" in text
    assert "(the same network)" in text and "5 epochs" in text  # differences from the paper are printed


def test_partial_verdict_before_the_last_run():
    from suite.reproduce.hinton2015 import judge_distillation

    verdict = judge_distillation(_card(), {"teacher": _record(100)})
    assert not verdict.passed and len(verdict.checks) == 1 and "partial" in verdict.notes[0]


def test_runner_end_to_end_on_digits(tmp_path, monkeypatch):
    """The real runner and harness on a shrunken card: three records of kind reproduction, each with the verdict."""
    from suite.measure.latency import QUICK
    from suite.records.store import RecordStore
    from suite.reproduce import hinton2015, papers
    from suite.reproduce.runner import ReproduceContext, reproduce_paper

    card = copy.deepcopy(_card())
    card["setup"].update(track="digits-mlp")
    card["setup"]["params"].update(teacher="mlp-64-256-256", student="mlp-64-32", teacher_epochs=3, epochs=3,
                                   teacher_jitter=0)
    card["setup"]["runs"]["teacher"].update(track="digits-mlp")
    card["setup"]["runs"]["teacher"]["params"].update(student="mlp-64-256-256", epochs=3, jitter=0)
    card["setup"]["runs"]["student_alone"].update(track="digits-mlp")
    card["setup"]["runs"]["student_alone"]["params"].update(student="mlp-64-32", epochs=3)
    monkeypatch.setattr(papers, "load_card", lambda name: card)

    ctx = ReproduceContext(store=tmp_path / "store", settings=QUICK, measure_memory=False, workdir=tmp_path / "w")
    verdict = reproduce_paper("hinton2015-mnist", ctx)
    assert verdict.error is None and len(verdict.records) == 3 and verdict.seconds > 0
    assert [c.name for c in verdict.checks][:3] == [hinton2015.LABELS[k] for k in hinton2015.RUN_ORDER]
    assert any("(the same network)" in n for n in verdict.notes)  # kd-hinton retrained the very same teacher
    store = RecordStore(tmp_path / "store")
    records = [store.find(i) for i in verdict.records]
    assert [r["kind"] for r in records] == ["reproduction"] * 3
    assert [r["config"]["method"] for r in records] == ["student-scratch", "student-scratch", "kd-hinton"]
    assert records[-1]["verdict"]["paper"] == "hinton2015-mnist"
    assert records[-1]["verdict"]["passed"] == verdict.passed
