"""SlimBench's rules as data, in one place (issue 18): the thresholds a record is judged by and the default
matrices. Change a rule here and every command, check and board view that applies it follows.

Nothing here imports anything: any layer (suite, leaderboard, methods) may import it.

- Accuracy gate: a compressed model counts (board ranking, `ingest`) only at >= MIN_RELATIVE_ACCURACY of the
  fp32 accuracy measured in the same session (MLPerf closed division: 99%).
- Reproduction tolerances (`slimbench reproduce ID|BUNDLE` and its verdict checks): accuracy within
  ±REPRODUCE_ACC_TOL_PP percentage points (same seed: deterministic methods reproduce exactly on the same
  software; the tolerance absorbs kernel-level float differences across CPUs), speedup ratios within
  ±REPRODUCE_SPEEDUP_TOL_REL (ratios against fp32 of the same session; judged only between CPUs of the same ISA
  class), artifact size within REPRODUCE_SIZE_TOL_REL (the content is judged by its tensor values; the bytes
  differ by exporter metadata: tens of bytes between machines). What each check means: suite/reproduce/compare.py.
- Ingest: the session's fp32 accuracy must lie within FP32_REFERENCE_TOLERANCE_PP of the track's reference.
- Default tracks: DEFAULT_SUITE_TRACKS (`slimbench run --suite default`) and SUBMIT_TRACKS (`slimbench submit`'s
  closed-division matrix: the default suite's tracks without Fashion-MNIST, which repeats LeNet-5's recipe).
"""
from __future__ import annotations

# -- accuracy gate --------------------------------------------------------------------------------------
MIN_RELATIVE_ACCURACY = 0.99         # >= 99% of the fp32 accuracy on the same track and target
FP32_REFERENCE_TOLERANCE_PP = 0.5    # ingest: the session's fp32 accuracy vs the track's reference accuracy


GATE_ROUNDING = 1e-12                # acc / fp32 a float-rounding hair below the gate counts as at it


def passes_accuracy_gate(relative_accuracy, gate: float = MIN_RELATIVE_ACCURACY):
    """accuracy / fp32 accuracy at or above the gate. A record without a relative accuracy (failed, speed-only
    track: None / NaN) does not pass. Takes a number (-> bool) or a pandas column (-> boolean column)."""
    if hasattr(relative_accuracy, "fillna"):  # a pandas Series: the board's rows
        return relative_accuracy.fillna(0) >= gate - GATE_ROUNDING
    return relative_accuracy is not None and relative_accuracy == relative_accuracy \
        and relative_accuracy >= gate - GATE_ROUNDING


# -- reproduction tolerances (record and bundle re-runs) ----------------------------------------------------
REPRODUCE_ACC_TOL_PP = 0.1           # accuracy, percentage points
REPRODUCE_SPEEDUP_TOL_REL = 0.15     # speedup ratios (batch 1 and batch 64), relative
REPRODUCE_SIZE_TOL_REL = 0.001       # artifact bytes, relative (published same-config records differ by < 0.01%)
# ... but never less than this many bytes: exporter metadata (version strings) differs by tens of bytes whatever
# the model's size, which is more than 0.1% of a 25 KB digits-mlp TFLite file
REPRODUCE_SIZE_TOL_MIN_BYTES = 64

# -- default matrices -------------------------------------------------------------------------------------
DEFAULT_SUITE_TRACKS = ("digits-mlp", "mnist-lenet300", "mnist-lenet5", "fashion-lenet5")
DEFAULT_SUITE_TARGETS = ("cpu", "edge")
SUBMIT_TRACKS = DEFAULT_SUITE_TRACKS[:3]
SUBMIT_TARGETS = ("cpu", "edge", "cpu-torch")
