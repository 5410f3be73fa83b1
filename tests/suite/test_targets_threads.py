"""Thread policy is explicit: every target states its thread count (description, `slimbench list`, record);
`cpu-1t` is the ORT CPU target at 1 intra-op thread."""
import pytest

from suite.targets import TARGETS, get_target
from suite.targets.base import machine_threads


@pytest.mark.parametrize("name", [t.name for t in TARGETS])
def test_every_target_states_its_threads(name):
    target = get_target(name)
    assert "thread" in target.description
    assert target.thread_count() == (target.intra_op_threads or machine_threads()) >= 1
    assert target.thread_policy() in ("all usable cores", f"{target.intra_op_threads} thread"
                                      + ("s" if target.intra_op_threads != 1 else ""))


def test_thread_counts_of_builtin_targets():
    assert get_target("cpu").intra_op_threads is None and get_target("cpu").thread_count() == machine_threads()
    assert get_target("cpu-1t").thread_count() == 1 and get_target("edge").thread_count() == 1


def test_list_shows_threads(capsys):
    from suite.cli import main

    assert main(["list", "targets"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("cpu-1t "))
    assert "threads" in out.splitlines()[1] and " 1 " in row
    assert f"all usable cores ({machine_threads()} here)" in out


def test_cpu_1t_runs_at_one_thread_and_records_it(quick_session):
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "ort-int8-dynamic", "cpu-1t"))
    assert record["status"] == "ok", record.get("error")
    assert record["provenance"]["threads"]["intra_op"] == 1
    assert record["provenance"]["runtime"]["threads"] == 1
    assert record["provenance"]["runtime"]["thread_policy"] == "1 thread"
    assert record["provenance"]["runtime"]["target"] == "cpu-1t"
    cpu = quick_session.run(RunSpec("digits-mlp", "fp32", "cpu"))
    assert cpu["provenance"]["runtime"]["threads"] == cpu["provenance"]["threads"]["intra_op"] == machine_threads()
