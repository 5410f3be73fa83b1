"""`slimbench bench harness` runs both loops on the same artifact (the 5% target is checked by the
benchmark itself, `make bench`, not by a timed unit test)."""
import pytest

from suite.bench import bench_harness


def test_bench_harness_measures_both_loops(tmp_path):
    r = bench_harness("digits-mlp", "cpu", rounds=2, queries=200, workdir=tmp_path, max_seconds=0)
    assert r["harness_p50_ms"] > 0 and r["bare_p50_ms"] > 0
    assert len(r["harness_round_p50s"]) == len(r["bare_round_p50s"]) == 2
    assert r["overhead_ratio"] == r["harness_p50_ms"] / r["bare_p50_ms"]
    low, high = r["overhead_ratio_ci"]
    assert low < r["overhead_ratio"] < high and r["verdict"] in ("within", "outside", "undecided")
    # the A/A control: a second bare loop in the same rounds, its own ratio and interval
    assert len(r["control_round_p50s"]) == len(r["bare_round_p50s"]) == r["rounds"]
    c_low, c_high = r["control_ratio_ci"]
    assert c_low < r["control_ratio"] < c_high and r["control_verdict"] in ("within", "outside", "undecided")


def test_the_verdict_needs_the_interval_to_decide():
    from suite.bench import decide, within

    assert decide([0.97, 1.04], 0.05) == "within"
    assert decide([1.06, 1.2], 0.05) == "outside" and decide([0.8, 0.94], 0.05) == "outside"
    assert decide([0.98, 1.08], 0.05) == "undecided" and decide(None, 0.05) == "undecided"
    r = {"overhead_ratio": 1.02, "overhead_ratio_ci": [0.9, 1.15], "per_call_floor_us": 0.0}
    assert within(r, 0.05)[0] is False  # a point inside the tolerance with an interval that straddles it


def test_floor_is_reported_and_only_excused_within_tolerance():
    from suite.bench import within

    r = {"overhead_ratio": 1.08, "per_call_floor_us": 0.3, "harness_p50_ms": 0.0036, "bare_p50_ms": 0.00335}
    r["ratio_excluding_floor"] = (r["harness_p50_ms"] - 0.0003) / r["bare_p50_ms"]
    ok, how = within(r, 0.05)
    assert ok and "0.30 µs per-call floor" in how
    assert within({**r, "overhead_ratio": 1.02}, 0.05) == (True, "ratio")
    assert within({**r, "ratio_excluding_floor": 1.07}, 0.05)[0] is False
    assert within({**r, "per_call_floor_us": 0.0}, 0.05)[0] is False


def test_the_interval_allows_for_correlated_rounds():
    """Rounds whose ratio drifts in runs (correlated neighbours) get a wider interval from batch means than from
    single rounds; independent-looking rounds of the same spread get about the same."""
    import numpy as np

    from suite.bench import batch_means_interval
    from suite.measure.latency import speedup_interval

    drifting = [1.0] * 10 + [1.2] * 10 + [1.0] * 10 + [1.2] * 10 + [1.0] * 10   # slow state changes
    drifting = [r * (1 + 0.01 * (-1) ** i) for i, r in enumerate(drifting)]
    per_round = speedup_interval(1.08, drifting)["half_width"]
    batched = batch_means_interval(1.08, drifting)
    assert batched["batches"] == 5 and batched["rounds"] == 50
    assert batched["half_width"] > 2 * per_round
    rng = np.random.default_rng(0)
    independent = list(np.exp(rng.normal(0.0, 0.05, 200)))
    ratio = batch_means_interval(1.0, independent)["half_width"] / speedup_interval(1.0, independent)["half_width"]
    assert 0.3 < ratio < 3
    assert batch_means_interval(1.0, [1.0, 1.1, 1.05])["ci95"] == speedup_interval(1.0, [1.0, 1.1, 1.05])["ci95"]


@pytest.mark.parametrize("target", ["cpu", "edge"])
def test_the_per_call_floor_is_measured_on_a_stubbed_copy_of_the_runner(tmp_path, target):
    import numpy as np

    from suite.bench import _stubbed, per_call_floor_us
    from suite.harness import Session
    from suite.tracks import get_track
    from suite.targets import get_target

    track = get_track("digits-mlp")
    splits = track.load_splits()
    runner = Session(tmp_path / "s", workdir=tmp_path).baseline(track, get_target(target), splits).runner
    stub = _stubbed(runner)
    x = np.zeros((1, 64), np.float32)
    assert stub is not runner and stub.predict(x) is None          # the runtime does nothing in the copy
    assert runner.predict(x) is not None                          # and the runner itself is untouched
    floor = per_call_floor_us(runner, [x], n=2000, rounds=3)
    assert 0.0 <= floor < 5.0
