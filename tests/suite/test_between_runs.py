"""The machine's between-run spread (suite.measure.between_runs): estimated from --repeat groups, pooled per
machine and target, added in quadrature to later records' intervals, stated in the record."""
import copy
import math

import pytest

from suite.harness import RunSpec, Session
from suite.measure import between_runs
from suite.measure.latency import QUICK, LatencySettings, t975
from suite.records.store import validate

CPU = {"vendor": "AuthenticAMD", "model": "AMD EPYC", "family": "25", "model_id": "1", "stepping": "1",
       "logical_cores": 2, "isa_class": "x86-avx2"}
FULL = LatencySettings().to_dict()


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIMBENCH_CACHE", str(tmp_path / "cache"))


def record(value: float, half: float, rounds: int = 8, offline: float = 1.4, target: str = "cpu",
           settings=FULL, high_load=False, cpu=CPU, group="aaaaaaaaaaaa") -> dict:
    return {"status": "ok", "created_utc": "2026-11-30T18:00:00Z",
            "config": {"track": "sst2-transformer", "method": "ort-int8-dynamic", "target": target,
                       "latency_settings": settings, "repeat": {"group": group, "index": 1, "of": 3}},
            "provenance": {"cpu": cpu, "hostname": "vm"},
            "results": {"speedup_single_stream": value,
                        "speedup_single_stream_ci": [value * math.exp(-half), value * math.exp(half)],
                        "speedup_offline": offline,
                        "speedup_offline_ci": [offline * math.exp(-0.02), offline * math.exp(0.02)],
                        "timing": {"single_stream": {"rounds": rounds}, "offline": {"rounds": rounds},
                                   "load": {"high": high_load}}}}


def test_group_component_is_the_point_variance_beyond_the_runs_own_noise():
    values, half = [1.32, 1.41, 1.40, 1.38, 1.60], 0.04
    part = between_runs.group_component([record(v, half) for v in values], "single_stream")
    logs = [math.log(v) for v in values]
    mean = sum(logs) / 5
    var = sum((x - mean) ** 2 for x in logs) / 4
    se = half / t975(7)
    assert part["df"] == 4 and part["var_points"] == pytest.approx(var)
    assert part["tau2"] == pytest.approx(var - se ** 2)
    # runs that agree within their own noise add nothing (tau^2 is not negative)
    assert between_runs.group_component([record(v, 0.2) for v in (1.40, 1.41)], "single_stream")["tau2"] == 0.0


def test_which_groups_contribute():
    good = [record(v, 0.04) for v in (1.3, 1.5)]
    assert between_runs.contributes(good) is None
    assert "fewer than two" in between_runs.contributes(good[:1])
    assert "--quick" in between_runs.contributes([record(v, 0.04, settings=QUICK.to_dict()) for v in (1.3, 1.5)])
    assert "high load" in between_runs.contributes([record(1.3, 0.04), record(1.5, 0.04, high_load=True)])
    assert "different machines" in between_runs.contributes([record(1.3, 0.04),
                                                             record(1.5, 0.04, cpu={**CPU, "logical_cores": 4})])


def test_a_floor_widens_later_intervals_of_its_machine_and_target_only():
    values = [1.32, 1.41, 1.40, 1.38, 1.60]
    found = between_runs.add_group([record(v, 0.04) for v in values])
    part = between_runs.group_component([record(v, 0.04) for v in values], "single_stream")
    assert found["single_stream"] == {"tau_log": pytest.approx(math.sqrt(part["tau2"])), "df": 4}
    assert found["groups"] == 1 and found["runs"] == 5

    later = record(1.45, 0.03)["results"]
    own = list(later["speedup_single_stream_ci"])
    between_runs.widen(later, "cpu", CPU, "vm")
    wide = math.sqrt(0.03 ** 2 + (t975(4) * found["single_stream"]["tau_log"]) ** 2)
    assert later["speedup_single_stream_ci"] == pytest.approx([1.45 * math.exp(-wide), 1.45 * math.exp(wide)])
    assert later["timing"]["single_stream"]["ci_run"] == own
    stated = later["timing"]["between_runs"]
    assert stated["applied"] and stated["runs"] == 5 and stated["configurations"] == ["sst2-transformer/ort-int8-dynamic"]

    for target, cpu in (("edge", CPU), ("cpu", {**CPU, "model": "Intel Xeon"})):  # no group there: unchanged
        other = record(1.45, 0.03, target=target)["results"]
        before = copy.deepcopy(other["speedup_single_stream_ci"])
        between_runs.widen(other, target, cpu, "vm")
        assert other["speedup_single_stream_ci"] == before
        assert other["timing"]["between_runs"]["applied"] is False
        assert "covers this run only" in other["timing"]["between_runs"]["reason"]


def test_groups_pool_by_degrees_of_freedom_and_the_estimator_uses_the_runs_own_intervals():
    first = [record(v, 0.04, group="aaaaaaaaaaaa") for v in (1.30, 1.50, 1.40)]
    second = [record(v, 0.04, group="bbbbbbbbbbbb") for v in (1.40, 1.42)]
    between_runs.add_group(first)
    found = between_runs.add_group(second)
    t1, t2 = (between_runs.group_component(g, "single_stream")["tau2"] for g in (first, second))
    assert found["single_stream"]["df"] == 3
    assert found["single_stream"]["tau_log"] == pytest.approx(math.sqrt((2 * t1 + 1 * t2) / 3))
    # a widened record enters a later group with its own (run) interval, not the widened one
    widened = record(1.45, 0.04)
    between_runs.widen(widened["results"], "cpu", CPU, "vm")
    assert between_runs._run_se(widened["results"], "single_stream")[1] == pytest.approx(0.04 / t975(7))


def test_the_baseline_itself_says_it_has_nothing_to_widen():
    between_runs.add_group([record(v, 0.04) for v in (1.3, 1.5)])
    results = record(1.0, 0.03)["results"]
    results["speedup_single_stream_ci"] = results["speedup_offline_ci"] = None
    between_runs.widen(results, "cpu", CPU, "vm")
    assert results["timing"]["between_runs"]["applied"] is False
    assert "fp32 baseline" in results["timing"]["between_runs"]["reason"]


def test_a_damaged_floor_file_is_ignored(tmp_path):
    path = between_runs.floor_path(between_runs.machine_id(CPU, "vm"))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    results = record(1.45, 0.03)["results"]
    between_runs.widen(results, "cpu", CPU, "vm")
    assert results["timing"]["between_runs"]["applied"] is False


def test_a_real_run_states_and_applies_its_machines_floor(tmp_path):
    session = Session(tmp_path / "store", settings=QUICK, workdir=tmp_path / "work", measure_memory=False)
    spec = RunSpec("digits-mlp", "ort-int8-dynamic", "cpu")
    first = session.run(spec)
    validate(first)
    assert first["results"]["timing"]["between_runs"]["applied"] is False
    group = []  # the real record's fields, as if timed at full settings with these speedups
    for value in (1.2, 1.5, 1.3):
        copy_of = copy.deepcopy(first)
        copy_of["config"]["latency_settings"] = FULL
        copy_of["results"]["speedup_single_stream"] = value
        copy_of["results"]["speedup_single_stream_ci"] = [value * 0.97, value * 1.03]
        group.append(copy_of)
    assert between_runs.contributes(group) is None
    assert between_runs.add_group(group)["runs"] == 3
    second = session.run(spec)
    validate(second)
    stated = second["results"]["timing"]["between_runs"]
    assert stated["applied"] and stated["machine"] == between_runs.machine_of(first)
    low, high = second["results"]["speedup_single_stream_ci"]
    run_low, run_high = second["results"]["timing"]["single_stream"]["ci_run"]
    assert low < run_low and high > run_high


def test_cli_adds_a_stores_groups_shows_and_resets(tmp_path, capsys):
    """`slimbench between-runs add --store S` enters a store's --repeat groups (e.g. of a run interrupted before
    it added its own); `show` prints the spread per target; `reset` forgets it."""
    from suite.cli import main
    from suite.records.store import RecordStore

    session = Session(tmp_path / "runs", settings=QUICK, workdir=tmp_path / "work", measure_memory=False)
    real = session.run(RunSpec("digits-mlp", "ort-int8-dynamic", "cpu"))
    store = RecordStore(tmp_path / "store")
    for group, values in (("aaaaaaaaaaaa", (1.2, 1.5, 1.3)), ("bbbbbbbbbbbb", (1.4,)), ("cccccccccccc", (1.1, 1.2))):
        for i, value in enumerate(values, 1):
            r = copy.deepcopy(real)
            r["config"]["repeat"] = {"group": group, "index": i, "of": len(values)}
            r["config"]["latency_settings"] = FULL if group != "cccccccccccc" else QUICK.to_dict()
            r["results"]["speedup_single_stream"] = value
            r["results"]["speedup_single_stream_ci"] = [value * 0.97, value * 1.03]
            store.write(r)
    assert main(["between-runs", "show"]) == 0
    assert "no between-run spread measured on this machine" in capsys.readouterr().out
    assert main(["between-runs", "add", "--store", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "group aaaaaaaaaaaa: added (3 runs)" in out
    assert "group bbbbbbbbbbbb: not added (fewer than two successful runs)" in out
    assert "group cccccccccccc: not added (--quick settings" in out
    assert "  cpu: 1 group(s), 3 runs" in out and "digits-mlp/ort-int8-dynamic" in out
    assert main(["between-runs", "add", "--store", str(store.root), "--group", "dddddddddddd"]) == 2
    assert "no --repeat group dddddddddddd" in capsys.readouterr().err
    assert main(["between-runs", "reset"]) == 0
    capsys.readouterr()
    assert main(["between-runs", "show"]) == 0
    assert "no between-run spread measured" in capsys.readouterr().out


def test_rerun_interval_and_agreement():
    """A re-run interval is the run's interval widened sqrt(2)x per side on the log scale (another run's estimate
    has noise too); two runs agree when their log difference is within sqrt(h_a^2 + h_b^2)."""
    low, high = between_runs.rerun_interval(1.5, [1.4, 1.6])
    assert math.log(1.5 / low) == pytest.approx(math.sqrt(2) * math.log(1.5 / 1.4))
    assert math.log(high / 1.5) == pytest.approx(math.sqrt(2) * math.log(1.6 / 1.5))
    assert between_runs.rerun_interval(1.5, None) is None
    assert between_runs.rerun_interval(1.5, [1.6, 1.7]) is None  # an interval that misses its estimate: not used
    # equal intervals ±h: agreement reaches sqrt(2) h, exactly the re-run interval's reach
    h = 0.05
    edge = 1.0 * math.exp(math.sqrt(2) * h)
    ci = lambda v: [v * math.exp(-h), v * math.exp(h)]  # noqa: E731
    assert between_runs.agree(1.0, ci(1.0), edge * 0.999, ci(edge * 0.999)) is True
    assert between_runs.agree(1.0, ci(1.0), edge * 1.001, ci(edge * 1.001)) is False
    assert between_runs.agree(1.0, ci(1.0), 1.2, None) is None
    # the side facing the other estimate counts: a long upper tail reaches a higher re-run
    assert between_runs.agree(1.0, [0.99, 1.5], 1.2, [1.19, 1.21]) is True
    assert between_runs.agree(1.0, [0.8, 1.01], 1.2, [1.19, 1.21]) is False
