"""suite/records/sections.py: the typed record sections read every published record and write the same JSON."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.records.sections import Latency, Memory, Results, Size, Throughput, read_results

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = sorted([*(REPO / "leaderboard" / "results").glob("*.json"), *(REPO / "docs" / "speed-records").glob("*.json")])


def test_every_published_results_object_round_trips():
    """from_dict(...).to_dict() gives back the record's object exactly: nulls stay null, absent keys absent."""
    seen = 0
    for path in PUBLISHED:
        record = json.loads(path.read_text())
        if record.get("results") is None:
            continue
        assert Results.from_dict(record["results"]).to_dict() == record["results"], path.name
        seen += 1
    assert seen > 100


def test_typed_reading_of_a_published_record():
    record = next(json.loads(p.read_text()) for p in PUBLISHED
                  if (json.loads(p.read_text()).get("results") or {}).get("memory"))
    raw, res = record["results"], read_results(record)
    assert isinstance(res.size, Size) and isinstance(res.latency_single_stream, Latency)
    assert isinstance(res.throughput_offline, Throughput) and isinstance(res.memory, Memory)
    assert res.size.kb == raw["size"]["artifact_bytes"] / 1024
    assert res.latency_single_stream.p50_ms == raw["latency_single_stream"]["p50_ms"]
    assert res.memory.net_peak_mb == raw["memory"]["net_peak_rss_bytes"] / 2**20
    assert res.relative_accuracy == pytest.approx(raw["accuracy"] / raw["accuracy_fp32"])


def test_missing_and_null_sections_read_as_none():
    assert read_results({"status": "failed"}) == Results()
    res = Results.from_dict({"accuracy": None, "accuracy_null_reason": "speed track", "memory": None,
                             "size": {"artifact_bytes": 10, "gzip_bytes": 5, "params": 1, "nonzero_params": 1}})
    assert res.memory is None and res.relative_accuracy is None and res.latency_single_stream is None
    assert not res.timed_under_high_load and res.load == {}
    assert Results.from_dict(None) is None and Size.from_dict("not an object") is None


def test_a_section_built_in_code_writes_the_harness_layout():
    """What the harness writes: the ALWAYS keys (null where not measured) and every other field that is set;
    keys a type does not name survive a round trip in `extra`."""
    size = Size(artifact_bytes=100, gzip_bytes=80, params=10, nonzero_params=5, compression_ratio=2.0)
    assert size.to_dict() == {"artifact_bytes": 100, "gzip_bytes": 80, "params": 10, "nonzero_params": 5,
                              "compression_ratio": 2.0}
    out = Results(accuracy=0.9, accuracy_fp32=0.95, size=size, notes=[]).to_dict()
    assert out["memory"] is None and out["speedup_single_stream_ci"] is None and "accuracy_null_reason" not in out
    assert out["size"] == size.to_dict() and out["notes"] == []
    odd = {"p50_ms": 1.0, "future_field": [1, 2]}
    assert Latency.from_dict(odd).to_dict() == odd


def test_high_load_is_read_from_the_timing():
    res = Results.from_dict({"timing": {"load": {"high": True, "max_interference": 0.6, "threshold": 0.25}}})
    assert res.timed_under_high_load and res.load["max_interference"] == 0.6


def test_the_cli_table_reads_the_typed_sections():
    """suite/report.py's row (the end of `slimbench run`) shows the record's numbers, `*` when timed under load."""
    from suite.report import record_row

    record = next(json.loads(p.read_text()) for p in PUBLISHED
                  if (json.loads(p.read_text()).get("results") or {}).get("memory"))
    raw, row = record["results"], record_row(record)
    assert row["acc%"] == f"{raw['accuracy'] * 100:.2f}" and row["p50 ms"] == f"{raw['latency_single_stream']['p50_ms']:.4f}"
    assert row["size KB"] == f"{raw['size']['artifact_bytes'] / 1024:.1f}"
    assert row["peak MB"] == f"{raw['memory']['net_peak_rss_bytes'] / 2**20:.1f}"
    loaded = json.loads(json.dumps(record))
    loaded["results"]["timing"] = {"load": {"high": True}}
    assert record_row(loaded)["speedup"].endswith("*") and not row["speedup"].endswith("*")
