"""Han et al. 2015, "Learning both Weights and Connections for Efficient Neural Networks" (arXiv 1506.02626):
iterative magnitude pruning + retraining of LeNet-300-100 and LeNet-5 on MNIST to ~12x fewer weights
without losing accuracy.

The runner pushes the card's setup (torch-magnitude with the paper's per-layer sparsities, iterative schedule)
through the harness on `cpu`, so the error is measured on the exported ONNX model in ONNX Runtime on the test
split, next to the fp32 baseline measured in the same session. The verdict checks the claim's *shape*:

- the error gap (pruned minus baseline) within the card's tolerance of the paper's gap;
- the fraction of weights kept, overall and per layer, and the compression ratio, at the paper's values.

Absolute errors are shown as context: our baselines are not the paper's, and we say so instead of tuning."""
from __future__ import annotations

from suite.reproduce.papers import paper_verdict, register_paper, run_setup
from suite.reproduce.verdict import Verdict


def judge_pruning(card: dict, record: dict) -> Verdict:
    expected, tol = card["expected"], card["tolerance"]
    verdict = paper_verdict(card)
    results = record["results"]
    info = results.get("method_info") or {}
    base_err = (1.0 - results["accuracy_fp32"]) * 100
    err = (1.0 - results["accuracy"]) * 100
    paper_base, paper_err = expected["baseline_error_pct"], expected["pruned_error_pct"]

    diff = base_err - paper_base
    base_note = ("same as the paper's" if abs(diff) < 0.005 else
                 f"OUR BASELINE DIFFERS from the paper's by {diff:+.2f} pp ({base_err:.2f}% vs {paper_base:.2f}%): "
                 f"absolute errors are not compared; the verdict checks the pruned-minus-baseline gap")
    verdict.context("baseline top-1 error (fp32)", paper_base, base_err, "%", note=base_note)
    verdict.context("pruned top-1 error", paper_err, err, "%")
    verdict.check_within("error gap (pruned - baseline)", paper_err - paper_base, err - base_err,
                         tol["error_gap_pp"], "pp")
    kept = info.get("weights_kept")
    if kept is None:
        verdict.error = "the method reported no weights_kept in its artifact info; cannot judge sparsity"
        return verdict
    verdict.check_within("weights kept (all layers)", expected["weights_kept_pct"], kept * 100,
                         tol["weights_kept_pp"], "%", tolerance_text=f"±{tol['weights_kept_pp']:g} pp")
    paper_x = expected["compression_x"]
    ours_x = info["weight_compression_x"]
    verdict.check_within("weight compression", paper_x, ours_x, tol["compression_rel"] * paper_x, "x")
    layers = info.get("layers", {})
    for name, paper_kept in expected["layers_kept_pct"].items():
        if name not in layers:
            verdict.add(f"{name} weights kept", False, paper_kept, None, "%", "", "layer missing from the result")
            continue
        verdict.check_within(f"{name} weights kept", paper_kept, layers[name]["kept"] * 100,
                             tol["layer_kept_pp"], "%", tolerance_text=f"±{tol['layer_kept_pp']:g} pp")
    if "validation_accuracy" in info and "validation_accuracy_before" in info:
        verdict.notes.append(f"validation accuracy (train-split holdout) {info['validation_accuracy_before']:.4f} "
                             f"before pruning, {info['validation_accuracy']:.4f} after")
    verdict.notes.append(f"error measured on the {results.get('test_samples', '?')}-image test split in "
                         f"{record['config']['target']} ({record['artifact']['format']}); the gap is "
                         f"{abs(err - base_err) * results.get('test_samples', 0) / 100:.0f} test images")
    verdict.notes += card.get("differences", [])
    return verdict


@register_paper("han2015-lenet300")
@register_paper("han2015-lenet5")
def run_han2015(card: dict, ctx) -> Verdict:
    return run_setup(card, ctx, judge_pruning)
