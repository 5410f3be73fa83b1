"""Speedups with their 95% intervals, adaptive stopping, and the load recorded around each timing."""
import math
import time

import numpy as np
import pytest

from suite.measure import latency, load
from suite.measure.latency import (QUICK, LatencySettings, is_quick, measure_offline, measure_single_stream,
                                   speed_fields, speedup_interval, t975)

X = {"method": np.zeros((128, 4), np.float32), "fp32": np.zeros((128, 4), np.float32)}


def test_interval_is_the_t_interval_of_log_round_ratios():
    ratios = [1.50, 1.55, 1.45, 1.52, 1.48, 1.53]
    out = speedup_interval(1.51, ratios)
    logs = np.log(ratios)
    h = 2.571 * logs.std(ddof=1) / math.sqrt(6)  # t(0.975, df=5)
    assert out["ci95"] == pytest.approx([1.51 * math.exp(-h), 1.51 * math.exp(h)])
    assert out["half_width"] == pytest.approx(math.expm1(h)) and out["rounds"] == 6
    assert out["ci95"][0] < 1.51 < out["ci95"][1]


def test_no_interval_without_spread_to_estimate():
    assert speedup_interval(1.3, [1.3])["ci95"] is None
    assert speedup_interval(1.3, [])["half_width"] is None


def test_t_quantiles():
    assert t975(1) == pytest.approx(12.706) and t975(3) == pytest.approx(3.182) and t975(30) == pytest.approx(2.042)
    assert 1.96 < t975(200) < t975(40) < 2.042


@pytest.fixture
def synthetic_times(monkeypatch):
    """Replace the timed loop: each call of a runner 'takes' what its duration function says for the round."""
    calls = {"method": 0, "fp32": 0}

    def install(durations, sleep_s=0.0):
        def fake_time_calls(fn, inputs, min_calls, min_seconds):
            name = fn.__name__
            calls[name] += 1
            if sleep_s:
                time.sleep(sleep_s)
            return [durations[name](calls[name])] * max(1, min_calls)
        monkeypatch.setattr(latency, "time_calls", fake_time_calls)
        return calls
    return install


def method(x):
    return x


def fp32(x):
    return x


FNS = {"method": method, "fp32": fp32}


def test_steady_ratio_stops_on_target_after_the_minimum_rounds(synthetic_times):
    synthetic_times({"method": lambda r: 0.001, "fp32": lambda r: 0.002})
    out = measure_single_stream(FNS, X, LatencySettings(rounds=4))
    timing = out["timing"]
    assert timing["stopped_by"] == "target" and timing["rounds"] == 4
    assert timing["speedup"]["estimate"] == pytest.approx(2.0) and timing["speedup"]["ci95"] == pytest.approx([2, 2])


def test_noisy_ratio_adds_pairs_until_the_interval_is_narrow(synthetic_times):
    rng = np.random.default_rng(0)
    noise = rng.lognormal(0, 0.04, size=1000)
    synthetic_times({"method": lambda r: 0.001 * noise[r], "fp32": lambda r: 0.0015})
    out = measure_single_stream(FNS, X, LatencySettings(rounds=4, target_half_width=0.02, max_seconds=60))
    timing = out["timing"]
    assert timing["stopped_by"] == "target" and timing["rounds"] > 4 and timing["rounds"] % 2 == 0
    assert timing["speedup"]["half_width"] <= 0.02
    lo, hi = timing["speedup"]["ci95"]
    assert lo < 1.5 < hi


def test_time_cap_stops_a_ratio_too_noisy_for_the_target(synthetic_times):
    noise = np.random.default_rng(1).lognormal(0, 0.5, size=10_000)
    synthetic_times({"method": lambda r: 0.001 * noise[r], "fp32": lambda r: 0.001}, sleep_s=0.005)
    settings = LatencySettings(rounds=4, max_seconds=0.15, max_factor=1.0)
    out = measure_offline(FNS, X, settings)
    timing = out["timing"]
    assert timing["stopped_by"] == "time_cap" and timing["rounds"] % 2 == 0 and timing["rounds"] >= 4
    assert timing["elapsed_s"] <= 0.15 + 0.05
    assert timing["speedup"]["half_width"] > 0.03 and len(timing["round_ratios"]) == timing["rounds"]


def test_quick_and_fixed_settings_do_not_adapt(synthetic_times):
    synthetic_times({"method": lambda r: 0.001 * (1 + r % 3), "fp32": lambda r: 0.001})
    timing = measure_single_stream(FNS, X, QUICK)["timing"]
    assert (timing["stopped_by"], timing["rounds"]) == ("rounds", QUICK.rounds)


def test_a_single_runner_has_no_interval(synthetic_times):
    synthetic_times({"method": lambda r: 0.001, "fp32": lambda r: 0.001})
    single = measure_single_stream({"method": method}, {"method": X["method"]}, LatencySettings())
    offline = measure_offline({"method": method}, {"method": X["method"]}, LatencySettings())
    fields = speed_fields(single, offline)
    assert fields["speedup_single_stream_ci"] is None and fields["speedup_offline_ci"] is None
    assert fields["timing"]["single_stream"]["stopped_by"] == "rounds"


def test_real_runners_interval_contains_the_estimate():
    def slow(x):
        return np.tanh(x @ np.ones((4, 256))).sum()

    def fast(x):
        return x.sum()
    settings = LatencySettings(warmup=5, min_queries=40, min_seconds=0.08, max_seconds=1.0, offline_batch=16,
                               offline_min_batches=8, offline_min_seconds=0.08)
    single = measure_single_stream({"method": fast, "fp32": slow}, X, settings)
    offline = measure_offline({"method": fast, "fp32": slow}, X, settings)
    notes = []
    fields = speed_fields(single, offline, notes)
    lo, hi = fields["speedup_single_stream_ci"]
    estimate = single["fp32"]["p50_ms"] / single["method"]["p50_ms"]
    assert lo <= estimate <= hi and estimate > 1
    assert fields["timing"]["single_stream"]["stopped_by"] in ("target", "time_cap")
    assert set(fields["timing"]["offline"]["load"]) >= {"loadavg_per_core_before", "loadavg_per_core_after",
                                                        "other_cpu_share", "steal_share"}


def test_load_between_snapshots():
    cores = len(load._cpus())
    before = load.Snapshot(wall=0.0, own_cpu=1.0, busy=10.0, steal=0.0, loadavg=0.5)
    after = load.Snapshot(wall=2.0, own_cpu=2.0, busy=10.0 + 1.0 + 0.8 * cores, steal=0.1 * cores, loadavg=1.0)
    got = load.between(before, after)
    assert got["other_cpu_share"] == pytest.approx(0.4) and got["steal_share"] == pytest.approx(0.05)
    assert got["loadavg_per_core_after"] == pytest.approx(1.0 / cores, abs=1e-3)
    assert load.interference(got) == pytest.approx(0.45)
    assert load.interference({"other_cpu_share": None}) is None


def test_high_load_marks_the_timing_and_notes_it(monkeypatch):
    monkeypatch.setattr(load, "HIGH_LOAD_SHARE", 0.20)  # the real threshold (tests/conftest.py lifts it)
    busy = {"load": {"other_cpu_share": 0.5, "steal_share": 0.0}}
    notes = []
    fields = speed_fields({"timing": busy}, {"timing": {"load": {"other_cpu_share": 0.01, "steal_share": 0}}}, notes)
    assert fields["timing"]["load"] == {"max_interference": 0.5, "threshold": load.HIGH_LOAD_SHARE, "high": True}
    assert notes and "timed under load" in notes[0]
    calm = speed_fields({"timing": {"load": {"other_cpu_share": 0.05, "steal_share": 0.0}}}, {"timing": {}}, [])
    assert calm["timing"]["load"]["high"] is False


def test_snapshot_reads_this_machine():
    s = load.snapshot()
    assert s.own_cpu >= 0 and (s.busy is None or s.busy > 0)


def test_is_quick_reads_old_and_new_settings():
    old_quick = {k: v for k, v in QUICK.to_dict().items() if k not in ("adaptive", "target_half_width",
                                                                       "max_seconds", "max_factor")}
    assert is_quick(QUICK.to_dict()) and is_quick(old_quick)
    assert not is_quick(LatencySettings().to_dict()) and not is_quick({}) and not is_quick(None)


def test_record_carries_intervals_and_table_shows_them(quick_session):
    from suite.harness import RunSpec
    from suite.records.store import validate
    from suite.report import format_table

    record = quick_session.run(RunSpec("digits-mlp", "ort-int8-dynamic", "cpu"))
    assert record["status"] == "ok", record.get("error")
    validate(record)
    res = record["results"]
    for key in ("speedup_single_stream", "speedup_offline"):
        lo, hi = res[f"{key}_ci"]
        assert 0 < lo <= res[key] <= hi
    assert res["timing"]["single_stream"]["rounds"] == QUICK.rounds
    assert res["timing"]["load"]["threshold"] == load.HIGH_LOAD_SHARE
    table = format_table([record])
    assert f"{res['speedup_single_stream']:.2f}× [{res['speedup_single_stream_ci'][0]:.2f}, " in table
    baseline = quick_session.run(RunSpec("digits-mlp", "fp32", "cpu"))
    assert baseline["results"]["speedup_single_stream_ci"] is None
    assert "1.00×" in format_table([baseline]) and "1.00× [" not in format_table([baseline])


# -- sub-sessions: fresh runtime sessions within a run, so that the interval covers the between-session spread --
def _session_factory(monkeypatch, session_ratios):
    """Runners whose calls 'take' a fixed time per *session*: the method's k-th fresh session is
    session_ratios[k] times faster than fp32, with no noise inside a session."""
    made = {"method": 0, "fp32": 0}

    def make(name):
        made[name] += 1
        k = made["method"] - 1

        def run(x):
            return x
        run.seconds = 0.002 if name == "fp32" else 0.002 / session_ratios[k % len(session_ratios)]
        return run

    def fake_time_calls(fn, inputs, min_calls, min_seconds):
        return [fn.seconds] * max(1, min_calls)
    monkeypatch.setattr(latency, "time_calls", fake_time_calls)
    fns = {"method": make("method"), "fp32": make("fp32")}
    reload = {"method": lambda: make("method"), "fp32": lambda: make("fp32")}
    return fns, reload, made


def test_subsessions_reload_both_runners_and_widen_the_interval_to_the_session_spread(monkeypatch):
    ratios = [1.50, 1.70, 1.60, 1.55, 1.65, 1.45]
    fns, reload, made = _session_factory(monkeypatch, ratios)
    settings = LatencySettings(rounds=4, subsessions=4, adaptive=False)
    out = measure_single_stream(fns, X, settings, reload=reload)
    timing = out["timing"]
    assert timing["subsessions"] == 4 and timing["rounds"] == 8 and made == {"method": 4, "fp32": 4}
    assert timing["subsession_ratios"] == pytest.approx(ratios[:4])
    lo, hi = timing["speedup"]["ci95"]
    logs = np.log(ratios[:4])
    h = 3.182 * logs.std(ddof=1) / 2  # t(0.975, 3) over the sub-sessions; the rounds alone have no spread
    estimate = timing["speedup"]["estimate"]
    assert (lo, hi) == pytest.approx((estimate * math.exp(-h), estimate * math.exp(h)))
    assert lo < min(ratios[:4]) * 1.05 and hi > max(ratios[:4]) * 0.95
    # the same runners without reload: one session, a zero-width interval that says nothing about the spread
    fns, _, _ = _session_factory(monkeypatch, ratios)
    assert measure_single_stream(fns, X, settings)["timing"]["speedup"]["half_width"] == pytest.approx(0)


def test_subsessions_are_added_until_the_target_or_the_cap(monkeypatch):
    fns, reload, made = _session_factory(monkeypatch, [1.5, 1.5, 1.5, 1.5, 1.52, 1.48])
    out = measure_offline(fns, X, LatencySettings(rounds=4, subsessions=4, target_half_width=0.03), reload=reload)
    assert out["timing"]["stopped_by"] == "target" and out["timing"]["subsessions"] == 4
    fns, reload, made = _session_factory(monkeypatch, [1.2, 1.8, 1.3, 1.9])
    out = measure_offline(fns, X, LatencySettings(rounds=4, subsessions=4, max_seconds=0.0, max_factor=1.0),
                          reload=reload)
    assert out["timing"]["stopped_by"] == "time_cap" and out["timing"]["subsessions"] == 4
    assert len(out["timing"]["subsession_ratios"]) == 4 and out["timing"]["speedup"]["half_width"] > 0.1


def test_quick_and_single_session_settings_never_reload(monkeypatch):
    for settings in (QUICK, LatencySettings(subsessions=1, adaptive=False)):
        fns, reload, made = _session_factory(monkeypatch, [1.5, 2.0])
        timing = measure_single_stream(fns, X, settings, reload=reload)["timing"]
        assert made == {"method": 1, "fp32": 1} and "subsessions" not in timing
