"""Plain-text summary tables of records (the end of `slimbench run --suite`)."""
from __future__ import annotations


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def record_row(record: dict) -> dict:
    cfg, res = record["config"], record.get("results") or {}
    lat = res.get("latency_single_stream") or {}
    mem = res.get("memory") or {}
    size = res.get("size") or {}
    return {
        "track": cfg["track"], "method": cfg["method"], "target": cfg["target"], "status": record["status"],
        "acc%": _fmt(res.get("accuracy") and res["accuracy"] * 100, ".2f"),
        "Δpp": _fmt(res.get("accuracy_delta_pp"), "+.2f"),
        "p50 ms": _fmt(lat.get("p50_ms"), ".4f"),
        "speedup": _fmt(res.get("speedup_single_stream"), ".2f", "-") + ("x" if res.get("speedup_single_stream") else ""),
        "b64 speedup": _fmt(res.get("speedup_offline"), ".2f") + ("x" if res.get("speedup_offline") else ""),
        "size KB": _fmt(size.get("artifact_bytes") and size["artifact_bytes"] / 1024, ".1f"),
        "gzip KB": _fmt(size.get("gzip_bytes") and size["gzip_bytes"] / 1024, ".1f"),
        "peak MB": _fmt(mem.get("net_peak_rss_bytes") and mem["net_peak_rss_bytes"] / 2**20, ".1f"),
        "id": record["id"],
        "error": (record.get("error") or {}).get("message", "")[:80],
    }


def format_table(records: list[dict]) -> str:
    rows = [record_row(r) for r in records]
    if not rows:
        return "(no records)"
    headers = [h for h in rows[0] if h != "error" or any(r["error"] for r in rows)]
    widths = {h: max(len(h), *(len(str(r[h])) for r in rows)) for h in headers}
    lines = ["  ".join(h.ljust(widths[h]) for h in headers), "  ".join("-" * widths[h] for h in headers)]
    lines += ["  ".join(str(r[h]).ljust(widths[h]) for h in headers) for r in rows]
    return "\n".join(line.rstrip() for line in lines)
