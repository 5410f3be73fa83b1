"""`slimbench bench harness` runs both loops on the same artifact (the 5% target is checked by the
benchmark itself, `make bench`, not by a timed unit test)."""
from suite.bench import bench_harness


def test_bench_harness_measures_both_loops(tmp_path):
    r = bench_harness("digits-mlp", "cpu", rounds=2, queries=200, workdir=tmp_path)
    assert r["harness_p50_ms"] > 0 and r["bare_p50_ms"] > 0
    assert len(r["harness_round_p50s"]) == len(r["bare_round_p50s"]) == 2
    assert r["overhead_ratio"] == r["harness_p50_ms"] / r["bare_p50_ms"]
