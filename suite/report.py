"""Plain-text summary tables of records (the end of `slimbench run --suite`)."""
from __future__ import annotations

from suite.records.sections import Latency, Memory, Size, read_results


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def speedup_text(value, ci=None) -> str:
    """'1.52×', or with its 95% interval '1.52× [1.47, 1.58]'; '-' when there is none."""
    if value is None:
        return "-"
    text = f"{value:.2f}×"
    return text + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def timed_under_load(record: dict) -> bool:
    return read_results(record).timed_under_high_load


def record_row(record: dict) -> dict:
    cfg, res = record["config"], read_results(record)
    lat, mem, size = res.latency_single_stream or Latency(), res.memory or Memory(), res.size or Size()
    no_accuracy = "—" if is_speed_record(record) else "-"  # speed tracks: no accuracy by design
    loaded = "*" if res.timed_under_high_load else ""
    return {
        "track": cfg["track"], "method": cfg["method"], "target": cfg["target"], "status": record["status"],
        "acc%": _fmt(None if res.accuracy is None else res.accuracy * 100, ".2f", no_accuracy),
        "Δpp": _fmt(res.accuracy_delta_pp, "+.2f", no_accuracy),
        "p50 ms": _fmt(lat.p50_ms, ".4f"),
        "speedup": speedup_text(res.speedup_single_stream, res.speedup_single_stream_ci) + loaded,
        "b64 speedup": speedup_text(res.speedup_offline, res.speedup_offline_ci) + loaded,
        "size KB": _fmt(size.kb, ".1f"),
        "gzip KB": _fmt(size.gzip_kb, ".1f"),
        "peak MB": _fmt(mem.net_peak_mb, ".1f"),
        "id": record["id"],
        "error": (record.get("error") or {}).get("message", "")[:80],
    }


def is_speed_record(record: dict) -> bool:
    """A speed-only track's record (random weights: no accuracy); never ranked with accuracy tracks."""
    cfg = record.get("config") or {}
    return cfg.get("track_kind") == "speed" or str(cfg.get("track", "")).startswith("speed-")


def format_table(records: list[dict]) -> str:
    """One table per track kind: speed-only tracks get their own, below the accuracy tracks."""
    speed = [r for r in records if is_speed_record(r)]
    accuracy = [r for r in records if not is_speed_record(r)]
    if speed and accuracy:
        return (_format_rows(accuracy) + "\n\nspeed-only tracks (random weights: speed, memory and size only)\n"
                + _format_rows(speed))
    return _format_rows(records)


def _format_rows(records: list[dict]) -> str:
    rows = [record_row(r) for r in records]
    if not rows:
        return "(no records)"
    headers = [h for h in rows[0] if h != "error" or any(r["error"] for r in rows)]
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in headers}
    lines = ["  ".join(h.ljust(widths[h]) for h in headers), "  ".join("-" * widths[h] for h in headers)]
    lines += ["  ".join(str(r[h]).ljust(widths[h]) for h in headers) for r in rows]
    if any(timed_under_load(r) for r in records):
        from suite.measure.load import HIGH_LOAD_SHARE
        lines.append(f"* timed under load (other processes took over {HIGH_LOAD_SHARE:.0%} of the CPUs): "
                     "publish/ingest refuse it without --force")
    return "\n".join(line.rstrip() for line in lines)
