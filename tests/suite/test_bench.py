"""`slimbench bench harness` runs both loops on the same artifact (the 5% target is checked by the
benchmark itself, `make bench`, not by a timed unit test)."""
from suite.bench import bench_harness


def test_bench_harness_measures_both_loops(tmp_path):
    r = bench_harness("digits-mlp", "cpu", rounds=2, queries=200, workdir=tmp_path, max_seconds=0)
    assert r["harness_p50_ms"] > 0 and r["bare_p50_ms"] > 0
    assert len(r["harness_round_p50s"]) == len(r["bare_round_p50s"]) == 2
    assert r["overhead_ratio"] == r["harness_p50_ms"] / r["bare_p50_ms"]
    low, high = r["overhead_ratio_ci"]
    assert low < r["overhead_ratio"] < high and r["verdict"] in ("within", "outside", "undecided")


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
    assert ok and "0.3 µs per-call floor" in how
    assert within({**r, "overhead_ratio": 1.02}, 0.05) == (True, "ratio")
    assert within({**r, "ratio_excluding_floor": 1.07}, 0.05)[0] is False
    assert within({**r, "per_call_floor_us": 0.0}, 0.05)[0] is False
