"""`slimbench run ... --repeat N`: N fresh-process sessions, one record each, tagged with their group."""
import pytest

from suite.cli import main
from suite.errors import ConfigError
from suite.records.store import RecordStore
from suite.repeat import consistency, parse_tag, summary


def test_repeat_runs_fresh_sessions_and_summarises(tmp_path, capsys):
    store = tmp_path / "store"
    code = main(["run", "--track", "digits-mlp", "--method", "ort-int8-dynamic", "--target", "cpu", "--quick",
                 "--no-memory", "--store", str(store), "--repeat", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    records = RecordStore(store).records()
    assert len(records) == 2
    tags = sorted((r["config"]["repeat"]["index"], r["config"]["repeat"]["of"]) for r in records)
    assert tags == [(1, 2), (2, 2)]
    assert len({r["config"]["repeat"]["group"] for r in records}) == 1
    assert len({r["provenance"]["session"] for r in records}) == 2  # independent sessions
    assert len({r["config"]["run_key"] for r in records}) == 1      # one configuration
    assert "median" in out and "over 2 sessions" in out and "95% confidence intervals" in out
    assert "95% re-run intervals" in out
    # smoke settings never define the machine's between-run spread
    assert "not added to this machine's between-run spread: --quick settings" in out


def test_summary_counts_estimates_inside_the_others_intervals():
    assert consistency([1.0, 1.1, 1.5], [[0.95, 1.12], [1.0, 1.2], [1.4, 1.6]]) == [1, 1, 0]
    recs = [{"status": "ok", "results": {"speedup_single_stream": v, "speedup_single_stream_ci": [v - .05, v + .05],
                                         "speedup_offline": 2.0, "speedup_offline_ci": None}} for v in (1.0, 1.02, 1.2)]
    s = summary(recs)
    assert s["speedup_single_stream"]["median"] == 1.02 and s["speedup_single_stream"]["inside_others"] == [1, 1, 0]
    assert s["speedup_offline"]["spread_pct"] == 0
    # re-run intervals: each side sqrt(2) wider on the log scale (1.0 [0.95, 1.05] -> [0.930, 1.072])
    assert s["speedup_single_stream"]["inside_others_rerun"] == [1, 1, 0]


def test_bad_tags_and_suite_repeat_are_refused(capsys):
    with pytest.raises(ConfigError, match="GROUP:INDEX:COUNT"):
        parse_tag("nonsense")
    with pytest.raises(ConfigError, match="12 hex"):
        parse_tag("xyz:1:2")
    assert parse_tag("0123456789ab:2:3") == {"group": "0123456789ab", "index": 2, "of": 3}
    assert main(["run", "--suite", "smoke", "--repeat", "3"]) == 2
    assert "--repeat applies to a single run" in capsys.readouterr().err
