"""Hinton, Vinyals, Dean 2015, "Distilling the Knowledge in a Neural Network" (arXiv 1503.02531), section 3:
on MNIST a 784-800-800-10 student makes 146 test errors alone and 74 when trained on the soft targets (T = 20)
of a dropout- and jitter-regularised 784-1200-1200-10 teacher that makes 67.

Three harness runs, each measured on the exported ONNX model in ONNX Runtime on the test split:
the teacher (student-scratch with student=mlp-1200-1200 and the teacher's regularisation), the student alone
(student-scratch), and the distilled student (kd-hinton, which retrains the same teacher from the same seed).
The verdict checks the claim's shape: the teacher beats the student alone, distillation reduces the
student's errors, and the fraction of the teacher-student gap it recovers is within the card's tolerance of
the paper's 91%. Absolute error counts are shown as context; our short budget (teacher 20 epochs, students 10)
is not the paper's training to convergence."""
from __future__ import annotations

from suite.reproduce.papers import paper_verdict, register_paper
from suite.reproduce.verdict import Verdict

RUN_ORDER = ("teacher", "student_alone", "distilled")
LABELS = {"teacher": "teacher 1200-1200 test errors", "student_alone": "student 800-800 alone test errors",
          "distilled": "distilled student test errors"}


def _errors(record: dict) -> int:
    results = record["results"]
    return int(round((1.0 - results["accuracy"]) * results["test_samples"]))


def judge_distillation(card: dict, records: dict[str, dict]) -> Verdict:
    """records: run name -> ok harness record, for the runs done so far (a partial verdict before the last)."""
    expected, tol = card["expected"], card["tolerance"]
    verdict = paper_verdict(card)
    errors = {key: _errors(records[key]) for key in RUN_ORDER if key in records}
    paper = {"teacher": expected["teacher_errors"], "student_alone": expected["student_alone_errors"],
             "distilled": expected["distilled_errors"]}
    for key in RUN_ORDER:
        if key in errors:
            verdict.context(LABELS[key], paper[key], errors[key], "errors",
                            note=("context: absolute counts depend on our short training budget" if key == "teacher"
                                  else ""))
    if len(errors) < len(RUN_ORDER):
        verdict.notes.append(f"partial: runs done so far: {', '.join(errors)}")
        return verdict

    teacher, alone, distilled = errors["teacher"], errors["student_alone"], errors["distilled"]
    verdict.add("teacher beats the student alone (alone - teacher errors)", alone - teacher > 0,
                paper["student_alone"] - paper["teacher"], alone - teacher, "errors", "> 0",
                note="" if alone > teacher else "no teacher-student gap to recover: the verdict cannot pass")
    verdict.add("distillation helps (alone - distilled errors)", alone - distilled > 0,
                paper["student_alone"] - paper["distilled"], alone - distilled, "errors", "> 0")
    paper_fraction = expected["gap_recovered"]
    if alone > teacher:
        fraction = (alone - distilled) / (alone - teacher)
        verdict.check_within("gap recovered (alone - distilled) / (alone - teacher)", paper_fraction,
                             round(fraction, 3), tol["gap_recovered_abs"])
    else:
        verdict.add("gap recovered (alone - distilled) / (alone - teacher)", False, paper_fraction, None, "",
                    f"±{tol['gap_recovered_abs']:g}", "undefined: the teacher is not better than the student")

    kd_info = records["distilled"]["results"].get("method_info") or {}
    teacher_info = records["teacher"]["results"].get("method_info") or {}
    same = kd_info.get("teacher_val_accuracy")
    ours = teacher_info.get("student_alone_val_accuracy")
    if same is not None and ours is not None:
        verdict.notes.append(
            f"the teacher kd-hinton trained has validation accuracy {same:.4f}; the teacher run measured on test "
            f"has {ours:.4f}" + (" (the same network)" if abs(same - ours) < 1e-9 else
                                 " (DIFFERENT: the teacher's test errors are of a different training run)"))
    verdict.notes.append(f"temperature {kd_info.get('temperature')}, alpha {kd_info.get('alpha')}, "
                         f"{kd_info.get('epochs')} epochs per student, teacher {kd_info.get('teacher_epochs')} epochs")
    test_samples = records["distilled"]["results"].get("test_samples")
    verdict.notes.append(f"errors counted on the {test_samples}-image test split in "
                         f"{records['distilled']['config']['target']} ({records['distilled']['artifact']['format']})")
    verdict.notes += card.get("differences", [])
    return verdict


@register_paper("hinton2015-mnist")
def run_hinton2015(card: dict, ctx) -> Verdict:
    setup = card["setup"]
    runs = {key: (setup if spec == "setup" else spec) for key, spec in setup["runs"].items()}
    done: dict[str, dict] = {}
    ids: list[str] = []
    verdict = None
    for key in RUN_ORDER:
        def judge(record, key=key):
            return judge_distillation(card, {**done, key: record})
        record, verdict = ctx.run(ctx.spec(runs[key]), judge, card)
        ids.append(record["id"])
        if record["status"] != "ok":
            verdict.error = f"{key} run failed: {verdict.error}"
            break
        done[key] = record
    verdict.records = ids
    return verdict
