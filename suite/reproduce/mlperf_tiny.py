"""MLPerf Tiny (Banbury et al. 2021) image classification: the int8 ResNet-8 against the closed division's 85%
top-1 floor, on SlimBench's cifar10-jpeg track.

The verdict checks the one number MLPerf Tiny sets for this task: int8 top-1 >= the floor on the test split,
measured on the full-integer TFLite artifact in LiteRT. The fp32 reference and the quantization gap are context.
The card says why a miss on the lossy JPEG copy is not a verdict on lossless CIFAR-10; nothing is tuned on the
test split."""
from __future__ import annotations

from suite.reproduce.papers import paper_verdict, register_paper, run_setup
from suite.reproduce.verdict import Verdict


def judge_floor(card: dict, record: dict) -> Verdict:
    verdict = paper_verdict(card)
    results = record["results"]
    floor = card["expected"]["top1_floor_pct"]
    ours = results["accuracy"] * 100
    verdict.add("int8 top-1 (test split)", ours >= floor - 1e-9, floor, ours, "%", f">= {floor:g} %",
                "" if ours >= floor else f"{floor - ours:.2f} pp below the floor; the notes give the known causes (lossy data, short recipe)")
    verdict.context("fp32 reference top-1", None, results["accuracy_fp32"] * 100, "%",
                    note="the track's reference, measured in the same session (context)")
    verdict.context("int8 - fp32", None, results["accuracy_delta_pp"], "pp", note="quantization cost (context)")
    verdict.notes.append(f"measured on {results.get('test_samples', '?')} test images of "
                         f"{record['provenance'].get('dataset', {}).get('name', '?')} in "
                         f"{record['config']['target']} ({record['artifact']['format']})")
    verdict.notes += card.get("differences", [])
    return verdict


@register_paper("mlperf-tiny-ic")
def run_mlperf_tiny_ic(card: dict, ctx) -> Verdict:
    return run_setup(card, ctx, judge_floor)
