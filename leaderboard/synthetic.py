"""Schema-valid synthetic record stores for the leaderboard's scale benchmark and tests (never published).

Records are made from the real published records in leaderboard/results as templates: each copy gets
another track / target / method parameters / machine / date and scaled numbers, then its content id
(suite.records.store.finalize validates every one). A share of them are reproductions of earlier ones
(verdict.of), failed runs and records with a `submitter`.

    python -m leaderboard.synthetic DIR --count 20000"""
from __future__ import annotations

import argparse
import copy
import json
import random
import sys
from pathlib import Path

TRACKS = ["digits-mlp", "mnist-lenet5", "mnist-lenet300", "sst2-transformer", "cifar10-resnet8", "kws-dscnn",
          "vww-mobilenet", "ad-autoencoder"]
TARGETS = ["cpu", "edge", "cpu-torch", "gpu"]
MACHINES = [("AMD EPYC 7B13", 2), ("Intel Xeon Platinum 8375C", 8), ("Apple M2", 8), ("Intel Core i7-1185G7", 8),
            ("AMD Ryzen 9 7950X", 32), ("Ampere Altra", 4), ("Raspberry Pi 5 Cortex-A76", 4)]
SUBMITTERS = ["ada", "grace", "linus", "barbara", "ken", "margaret"]


def _templates(published: Path) -> list[dict]:
    from suite.records.store import RecordStore

    # accuracy-track records only: the generator varies accuracy (speed-only tracks' records have none)
    templates = [r for r in RecordStore(published).records() if r["status"] == "ok" and r["kind"] == "run"
                 and (r.get("results") or {}).get("latency_single_stream")
                 and (r.get("results") or {}).get("accuracy") is not None]
    if not templates:
        raise SystemExit(f"no ok run records with latency in {published} to use as templates")
    return templates


def _finalize(record: dict) -> dict:
    """suite.records.store.finalize, with the schema check done by the index's compiled validator (the same
    verdict, tests/leaderboard/test_index.py) so that 20,000 records take seconds, not minutes."""
    from leaderboard.index import _fast_validator
    from suite.records.store import as_written, validate

    record = as_written(record)
    fast = _fast_validator()
    if fast is None:
        return validate(record)
    fast(record)  # raises on an invalid record
    return record


def make_store(root: Path, count: int, seed: int = 0, published: Path | None = None) -> int:
    """Write `count` schema-valid records into root (one JSON file each). Returns the number written."""
    from leaderboard.data import current_reference_sha256
    from suite.paths import PUBLISHED_RESULTS

    rng = random.Random(seed)
    templates = _templates(published or PUBLISHED_RESULTS)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    written: list[dict] = []
    for n in range(count):
        roll = rng.random()
        if written and roll < 0.08:  # a reproduction of an earlier run
            original = rng.choice(written[-500:])
            record = copy.deepcopy(original)
            record["kind"] = "reproduction"
            passed = rng.random() < 0.85
            record["verdict"] = {"kind": "record", "of": original["id"], "passed": passed, "checks": [
                {"name": "accuracy_pct", "expected": round(original["results"]["accuracy"] * 100, 2),
                 "measured": round(original["results"]["accuracy"] * 100 + rng.uniform(-0.2, 0.2), 2),
                 "tolerance": "±0.1 pp", "passed": passed}]}
        else:
            record = copy.deepcopy(rng.choice(templates))
            cfg = record["config"]
            cfg["track"] = rng.choice(TRACKS)
            cfg["target"] = rng.choice(TARGETS)
            cfg["seed"] = rng.randrange(5)
            cfg["method_params"] = dict(cfg.get("method_params") or {}, synthetic_variant=rng.randrange(60))
            res = record["results"]
            scale = rng.uniform(0.6, 1.6)
            acc = min(1.0, max(0.0, res["accuracy"] * rng.uniform(0.97, 1.005)))
            res["accuracy"] = round(acc, 6)
            if res.get("accuracy_fp32"):
                res["accuracy_delta_pp"] = round((acc - res["accuracy_fp32"]) * 100, 4)
            for key in ("speedup_single_stream", "speedup_offline"):
                if res.get(key):
                    res[key] = round(res[key] * scale, 4)
            lat = res["latency_single_stream"]
            for key in ("p50_ms", "p90_ms", "p99_ms", "mean_ms"):
                if key in lat:
                    lat[key] = round(lat[key] / scale, 6)
            record["provenance"]["checkpoint_sha256"] = current_reference_sha256(cfg["track"])  # None: unknown
            model, cores = rng.choice(MACHINES)
            record["provenance"]["cpu"] = dict(record["provenance"].get("cpu") or {}, model=model,
                                               logical_cores=cores)
            if roll > 0.97:  # a failed run
                record["status"] = "failed"
                record["error"] = {"type": "ConfigError", "message": f"synthetic failure {n}", "phase": "compress"}
                record.pop("results", None)
                record["artifact"] = None
        if rng.random() < 0.3:
            record["submitter"] = rng.choice(SUBMITTERS)
        record["created_utc"] = (f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}T"
                                 f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{n % 60:02d}Z")
        record = _finalize(record)
        (root / f"{record['id']}.json").write_text(json.dumps(record, sort_keys=True) + "\n")
        if record["status"] == "ok" and record["kind"] == "run":
            written.append(record)
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    make_store(args.store, args.count, args.seed)
    print(f"{args.count} records in {args.store}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
