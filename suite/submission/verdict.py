"""Reproduction checks: does a re-run from the recorded config and seed give the recorded numbers?

- accuracy within ±acc_tol percentage points (default 0.1 pp: with the same seed, deterministic
  methods reproduce exactly on the same software; the tolerance absorbs kernel-level float
  differences across CPUs),
- artifact size exact in bytes (the ONNX, TorchScript and TFLite exporters are byte-deterministic for
  a given model and software versions; `size_tol` > 0 allows a relative tolerance and the check says so),
- speedups (batch-1 single-stream and batch-64 offline) within ±15% as *ratios* against fp32 measured
  in the same session, so different hardware can still agree; absolute times are not compared."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Tolerances:
    acc_pp: float = 0.1
    speedup_rel: float = 0.15
    size_rel: float = 0.0

    def __post_init__(self):
        import math

        from suite.errors import ConfigError
        for name, value in self.to_dict().items():
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"tolerance {name}={value!r} is not a finite non-negative number "
                                  "(NaN would make every comparison pass)")

    def to_dict(self) -> dict:
        return asdict(self)


def _check(name, expected, measured, tolerance, passed) -> dict:
    return {"name": name, "expected": expected, "measured": measured, "tolerance": tolerance, "passed": bool(passed)}


def compute_checks(original: dict, rerun: dict, tol: Tolerances) -> list[dict]:
    checks = [_check("status", "ok", rerun["status"] if rerun["status"] == "ok" else
                     f"failed ({(rerun.get('error') or {}).get('type')}: "
                     f"{str((rerun.get('error') or {}).get('message'))[:160]})", "exact", rerun["status"] == "ok")]
    if rerun["status"] != "ok":
        return checks
    o, n = original["results"], rerun["results"]
    acc_o, acc_n = o["accuracy"] * 100, n["accuracy"] * 100
    checks.append(_check("accuracy_pct", round(acc_o, 4), round(acc_n, 4), f"±{tol.acc_pp:g} pp",
                         abs(acc_n - acc_o) <= tol.acc_pp + 1e-9))
    fmt_o, fmt_n = (original.get("artifact") or {}).get("format"), (rerun.get("artifact") or {}).get("format")
    checks.append(_check("artifact_format", fmt_o, fmt_n, "exact", fmt_o == fmt_n))
    size_o, size_n = o["size"]["artifact_bytes"], n["size"]["artifact_bytes"]
    if tol.size_rel > 0:
        checks.append(_check("artifact_bytes", size_o, size_n, f"±{tol.size_rel:.3%} (exporter not byte-deterministic)",
                             abs(size_n - size_o) <= tol.size_rel * size_o))
    else:
        checks.append(_check("artifact_bytes", size_o, size_n, "exact", size_n == size_o))
    for key in ("speedup_single_stream", "speedup_offline"):
        e, m = o.get(key), n.get(key)
        if e is None or m is None:
            checks.append(_check(key, e, m, f"±{tol.speedup_rel:.0%}", e is None and m is None))
        else:
            checks.append(_check(key, round(e, 4), round(m, 4), f"±{tol.speedup_rel:.0%}",
                                 abs(m / e - 1) <= tol.speedup_rel + 1e-9))
    return checks


def make_verdict(original: dict, rerun: dict, tol: Tolerances) -> dict:
    checks = compute_checks(original, rerun, tol)
    prov = original.get("provenance") or {}
    return {
        "of": original["id"], "passed": all(c["passed"] for c in checks), "checks": checks,
        "tolerances": tol.to_dict(),
        "artifact_sha256_identical": ((original.get("artifact") or {}).get("sha256") ==
                                      (rerun.get("artifact") or {}).get("sha256")) if rerun["status"] == "ok" else None,
        "original": {"cpu": (prov.get("cpu") or {}).get("model"), "commit": (prov.get("code") or {}).get("commit"),
                     "created_utc": original.get("created_utc")},
    }


def format_verdict(original: dict, verdict: dict) -> str:
    cfg = original["config"]
    head = (f"reproduction of {original['id']}: {cfg['track']} / {cfg['method']} / {cfg['target']} "
            f"(seed {cfg['seed']}) -> {'PASSED' if verdict['passed'] else 'FAILED'}")
    rows = [("check", "expected", "measured", "tolerance", "result")]
    for c in verdict["checks"]:
        rows.append((c["name"], str(c["expected"]), str(c["measured"]), str(c["tolerance"]),
                     "ok" if c["passed"] else "FAIL"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [head] + ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows[:1]]
    lines.append("  " + "  ".join("-" * w for w in widths))
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows[1:]]
    if verdict.get("artifact_sha256_identical") is not None:
        lines.append(f"  artifact sha256 identical to the original: {verdict['artifact_sha256_identical']}")
    return "\n".join(lines)
