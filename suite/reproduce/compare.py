"""What a record re-run is compared on: the checks of a record verdict (`record_verdict`).

A re-run uses the recorded configuration and seed, on whatever machine reproduces it. What must match is what
is reproducible there:

- **status**: the re-run succeeded.
- **accuracy_pct**: within ±acc_pp percentage points (same seed: deterministic methods give the same number
  on the same software; the tolerance absorbs kernel-level float differences across CPUs). Speed tracks
  measure no accuracy (random weights): the line is context.
- **artifact_format**: the same deployment format.
- **artifact_tensors**: the artifact's *content* — the same tensor values (suite/artifact_content.py hashes the
  constant tensors of an ONNX / TFLite / TorchScript file, ignoring names and exporter metadata). Identical
  bytes pass outright; a record made before tensor hashes were recorded cannot be judged here (context).
- **artifact_bytes**: the size within ±size_rel, and never less than REPRODUCE_SIZE_TOL_MIN_BYTES (exporters
  embed version strings and metadata, so the same
  model's file differs by tens of bytes between machines; a different model differs by far more).
- **speedup_single_stream / speedup_offline**: the speed ratios against fp32 of the same session, within
  ±speedup_rel, or — where both records carry 95% intervals — within both runs' noise (the two estimates'
  log difference inside sqrt(h_o^2 + h_n^2): suite.measure.between_runs.agree; a noisy tiny model on a
  2-thread pool can differ 2x between two honest runs, and then says so in its intervals) — only when both
  machines are of the same ISA class (suite/records/provenance.py,
  `record_isa_class`: int8 speed depends on VNNI / AMX / dot-product instructions). Across classes the line is
  context and says "speed not comparable: <isa> vs <isa>"; it never fails the verdict.

The tolerances' defaults are the rules in suite/rules.py (REPRODUCE_*_TOL)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from suite import rules
from suite.measure.between_runs import agree
from suite.records.sections import Results, Size, read_results
from suite.reproduce.verdict import RECORD, Verdict

SPEED_KEYS = ("speedup_single_stream", "speedup_offline")


@dataclass(frozen=True)
class Tolerances:
    acc_pp: float = rules.REPRODUCE_ACC_TOL_PP
    speedup_rel: float = rules.REPRODUCE_SPEEDUP_TOL_REL
    size_rel: float = rules.REPRODUCE_SIZE_TOL_REL

    def __post_init__(self):
        from suite.errors import ConfigError
        for name, value in self.to_dict().items():
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"tolerance {name}={value!r} is not a finite non-negative number "
                                  "(NaN would make every comparison pass)")

    def to_dict(self) -> dict:
        return asdict(self)


def speed_comparable(original: dict, rerun: dict) -> tuple[bool, str, str]:
    """(same ISA class?, the original's class, the re-run's class). An unknown class is never comparable."""
    from suite.records.provenance import record_isa_class

    a, b = record_isa_class(original), record_isa_class(rerun)
    return a == b and a != "unknown", a, b


def _failure(rerun: dict) -> str:
    error = rerun.get("error") or {}
    return f"failed ({error.get('type')}: {str(error.get('message'))[:160]})"


def _accuracy(verdict: Verdict, o: Results, n: Results, tol: Tolerances) -> None:
    acc_o, acc_n = o.accuracy, n.accuracy
    if acc_o is None and acc_n is None:
        verdict.context("accuracy_pct", None, None, "%",
                        note=f"not measured: {o.accuracy_null_reason or 'no accuracy on this track'}")
        return
    if acc_o is None or acc_n is None:
        verdict.add("accuracy_pct", False, acc_o, acc_n, "%", f"±{tol.acc_pp:g} pp",
                    "one of the two runs measured no accuracy")
        return
    verdict.check_within("accuracy_pct", round(acc_o * 100, 4), round(acc_n * 100, 4), tol.acc_pp, "%",
                         tolerance_text=f"±{tol.acc_pp:g} pp")


def _artifact(verdict: Verdict, original: dict, rerun: dict, tol: Tolerances) -> None:
    art_o, art_n = original.get("artifact") or {}, rerun.get("artifact") or {}
    verdict.add("artifact_format", art_o.get("format") == art_n.get("format"), art_o.get("format"),
                art_n.get("format"), tolerance="exact")
    tensors_o, tensors_n = art_o.get("tensors_sha256"), art_n.get("tensors_sha256")
    if art_o.get("sha256") and art_o.get("sha256") == art_n.get("sha256"):
        verdict.add("artifact_tensors", True, "-", "identical file", tolerance="same tensor values",
                    note="byte-identical artifact (same sha256)")
    elif tensors_o and tensors_n:
        same = tensors_o == tensors_n
        verdict.add("artifact_tensors", same, tensors_o[:12], tensors_n[:12], tolerance="same tensor values",
                    note="same tensor values; the file bytes differ (exporter metadata)" if same else
                    "the artifact's tensor values differ from the original's")
    else:
        why = ("the original record has no tensor hash (made before it was recorded)" if not tensors_o else
               "the re-run's artifact could not be read for its tensors")
        verdict.context("artifact_tensors", tensors_o and tensors_o[:12], tensors_n and tensors_n[:12],
                        note=f"not judged: {why}; the size is compared instead")
    size_o = (read_results(original).size or Size()).artifact_bytes
    size_n = (read_results(rerun).size or Size()).artifact_bytes
    if size_o is None or size_n is None:
        verdict.add("artifact_bytes", size_o == size_n, size_o, size_n, "bytes", "exact")
    else:
        # relative, with an absolute floor for the metadata bytes of small files (rules.REPRODUCE_SIZE_TOL_MIN_BYTES);
        # size_rel 0 asks for exact bytes
        allowed = max(tol.size_rel * size_o, rules.REPRODUCE_SIZE_TOL_MIN_BYTES) if tol.size_rel > 0 else 0
        verdict.add("artifact_bytes", abs(size_n - size_o) <= allowed, size_o, size_n, "bytes",
                    f"±{tol.size_rel:.2%} (≥{rules.REPRODUCE_SIZE_TOL_MIN_BYTES} B)" if tol.size_rel > 0 else "exact")


def _speed(verdict: Verdict, original: dict, rerun: dict, tol: Tolerances) -> None:
    comparable, isa_o, isa_n = speed_comparable(original, rerun)
    res_o, res_n = read_results(original), read_results(rerun)
    for key in SPEED_KEYS:
        e, m = getattr(res_o, key), getattr(res_n, key)
        if not comparable:
            verdict.add(key, None, e, m, "x", f"speed not comparable: {isa_o} vs {isa_n}")
        elif e is None or m is None:
            verdict.add(key, e is None and m is None, e, m, "x", f"±{tol.speedup_rel:.0%}")
        else:
            within = abs(m / e - 1) <= tol.speedup_rel + 1e-9
            ci_o, ci_n = getattr(res_o, f"{key}_ci"), getattr(res_n, f"{key}_ci")
            noise = agree(e, ci_o, m, ci_n)
            note = "" if within or noise is None else (
                f"outside ±{tol.speedup_rel:.0%} {'but within' if noise else 'and beyond'} both runs' 95% noise "
                f"(intervals [{ci_o[0]:.3f}, {ci_o[1]:.3f}] and [{ci_n[0]:.3f}, {ci_n[1]:.3f}])")
            verdict.add(key, within or bool(noise), round(e, 4), round(m, 4), "x",
                        f"±{tol.speedup_rel:.0%} or within both runs' 95% noise", note=note)
    if not comparable:
        verdict.notes.append(f"speed not comparable: {isa_o} vs {isa_n} (the original was measured on a CPU of "
                             "another ISA class; its speed ratios are shown, not judged)")


def record_verdict(original: dict, rerun: dict, tol: Tolerances | None = None) -> Verdict:
    """The verdict of re-running `original` (a record) as `rerun` (the re-run's record, not yet written)."""
    from suite.records.provenance import record_isa_class

    tol = tol or Tolerances()
    prov = original.get("provenance") or {}
    verdict = Verdict(RECORD, of=original["id"], tolerances=tol.to_dict(),
                      original={"cpu": (prov.get("cpu") or {}).get("model"), "isa_class": record_isa_class(original),
                                "commit": (prov.get("code") or {}).get("commit"),
                                "created_utc": original.get("created_utc")})
    ok = rerun["status"] == "ok"
    verdict.add("status", ok, "ok", "ok" if ok else _failure(rerun), tolerance="exact")
    if not ok:
        return verdict
    _accuracy(verdict, read_results(original), read_results(rerun), tol)
    _artifact(verdict, original, rerun, tol)
    _speed(verdict, original, rerun, tol)
    return verdict
