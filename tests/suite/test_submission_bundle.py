"""The submission loop on digits-mlp: submit -> ingest -> on the leaderboard -> reproduce passes;
tampered bundles are refused with the reason and nothing is added."""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from suite.cli import main
from suite.measure.latency import LatencySettings
from suite.records.store import content_id
from suite.submission import sandbox
from suite.submission.bundle import MANIFEST, BundleError, load_bundle, sha256_bytes
from suite.submission.ingest import ingest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "submission" / "neuron_prune.py"
SPEC = f"{EXAMPLE}:NeuronPrune"

# Submitted code runs only in the bubblewrap sandbox (tests/setup_test_env.py installs it). Without it these
# tests skip and say so, except under CI, which must prove the sandbox.
pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None and not os.environ.get("CI"),
                                reason=f"no sandbox here: {sandbox.unavailable_reason()}")
# Longer than QUICK: the reproduction compares speedup ratios of this bundle's runs.
SETTINGS = LatencySettings(warmup=10, min_queries=200, min_seconds=0.2, rounds=4, offline_min_batches=20,
                           offline_min_seconds=0.2)
# digits-mlp at batch 1 measures ~10 µs of per-call overhead. On the shared 2-core development machine
# (load average 8-14) identical runs differed by up to ~35% in speedup ratio, and a ±50% run failed
# once, so this end-to-end test only requires the ratios within a factor of two; accuracy and artifact
# bytes stay exact. The default ±15% is for a quiet machine; the tolerance logic itself (±15% passes
# 10%, fails 20%) is tested in tests/suite/reproduce/test_rerun.py, and the mnist-lenet5 fp32 reproduction
# there uses the defaults.
SPEED_TOL = "1.0"


def store_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} \
        if root.exists() else {}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    from suite.submission.submit import submit

    out = tmp_path_factory.mktemp("bundle") / "neuron-prune.tar.gz"
    result = submit(SPEC, out, tracks=["digits-mlp"], targets=["cpu"], settings=SETTINGS, measure_memory=False)
    assert [r["status"] for r in result.records] == ["ok"], result.records[0].get("error")
    return result.bundle


def unpack(bundle: Path, dest: Path) -> Path:
    for name, data in load_bundle(bundle).files.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_bytes(data)
    return dest


def rehash(bundle_dir: Path) -> None:
    """What a careful forger does: recompute record ids, file names and every manifest hash."""
    manifest = json.loads((bundle_dir / MANIFEST).read_text())
    ids = []
    for path in sorted((bundle_dir / "records").glob("*.json")):
        record = json.loads(path.read_text())
        record["id"] = content_id(record)
        path.unlink()
        (bundle_dir / "records" / f"{record['id']}.json").write_text(json.dumps(record, indent=2, sort_keys=True))
        ids.append(record["id"])
    source = bundle_dir / manifest["method"]["source"]
    manifest["method"]["sha256"] = sha256_bytes(source.read_bytes())
    manifest["records"] = ids
    manifest["files"] = {str(p.relative_to(bundle_dir)): sha256_bytes(p.read_bytes())
                         for p in sorted(bundle_dir.rglob("*")) if p.is_file() and p.name != MANIFEST}
    (bundle_dir / MANIFEST).write_text(json.dumps(manifest))


def edit_record(bundle_dir: Path, change) -> None:
    (path,) = (bundle_dir / "records").glob("*.json")
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record, indent=2, sort_keys=True))


def test_bundle_contents(bundle):
    b = load_bundle(bundle)
    manifest = b.manifest
    assert manifest["method"]["sha256"] == sha256_bytes(EXAMPLE.read_bytes())
    assert b.files["method/neuron_prune.py"] == EXAMPLE.read_bytes()
    assert b.files["method/SHA256"].decode().split()[0] == manifest["method"]["sha256"]
    assert set(manifest["files"]) == set(b.files) - {MANIFEST}
    env = json.loads(b.files["environment.json"])
    assert env["distributions"]["torch"] and env["provenance"]["packages"]["onnxruntime"]
    (record,) = [json.loads(v) for k, v in b.files.items() if k.startswith("records/")]
    assert record["config"]["method_source_sha256"] == manifest["method"]["sha256"]


def test_submit_ingest_leaderboard_reproduce(bundle, tmp_path, capsys):
    from leaderboard import data

    store = tmp_path / "store"
    assert main(["ingest", str(bundle), "--store", str(store)]) == 0
    (record_path,) = sorted(store.glob("*.json"))
    original = json.loads(record_path.read_text())
    assert main(["ingest", str(bundle), "--store", str(store)]) == 0  # idempotent
    assert sorted(store.glob("*.json")) == [record_path]

    # the leaderboard's loader sees it as a ranked run
    loaded = data.load([data.Source("local", store)])
    frame = data.frame(loaded)
    row = frame[frame["id"] == original["id"]].iloc[0]
    assert row["method"] == "neuron_prune.py:NeuronPrune" and row["status"] == "ok"
    assert not row["reproduced"]

    capsys.readouterr()
    code = main(["reproduce", original["id"], "--store", str(store), "--speed-tol", SPEED_TOL])
    out = capsys.readouterr().out
    assert "accuracy_pct" in out and "artifact_bytes" in out and "speedup_single_stream" in out, out
    assert code == 0, out
    (verdict_path,) = [p for p in store.glob("*.json") if p != record_path]
    reproduction = json.loads(verdict_path.read_text())
    assert reproduction["kind"] == "reproduction" and reproduction["verdict"]["of"] == original["id"]
    assert reproduction["verdict"]["passed"] is True
    checks = {c["name"]: c for c in reproduction["verdict"]["checks"]}
    assert checks["accuracy_pct"]["measured"] == checks["accuracy_pct"]["expected"]  # same seed: exact
    assert checks["artifact_bytes"]["measured"] == checks["artifact_bytes"]["expected"]
    assert checks["artifact_tensors"]["passed"] is True  # the same tensor values (here: the same file)

    frame = data.frame(data.load([data.Source("local", store)]))
    assert bool(frame[frame["id"] == original["id"]].iloc[0]["reproduced"])  # the badge


def refused(bundle_dir: Path, tmp_path: Path, match: str):
    store = tmp_path / "store"
    (store).mkdir(exist_ok=True)
    (store / "keep.json").write_text("{}")  # something already there must stay as it is
    before = store_bytes(store)
    with pytest.raises(BundleError, match=match) as err:
        ingest(bundle_dir, store)
    assert "nothing was added" in str(err.value)
    assert store_bytes(store) == before
    return str(err.value)


def test_changed_accuracy_is_refused(bundle, tmp_path):
    d = unpack(bundle, tmp_path / "b")
    edit_record(d, lambda r: r["results"].update(accuracy=0.999))
    refused(d, tmp_path, "not the content hash")


def test_changed_accuracy_with_recomputed_id_is_refused_by_the_manifest(bundle, tmp_path):
    d = unpack(bundle, tmp_path / "b")
    edit_record(d, lambda r: r["results"].update(accuracy=0.999))
    (path,) = (d / "records").glob("*.json")
    record = json.loads(path.read_text())
    record["id"] = content_id(record)
    path.write_text(json.dumps(record))
    message = refused(d, tmp_path, "does not match the manifest")
    assert "the file was changed after the bundle was written" in message


def test_changed_source_is_refused(bundle, tmp_path):
    d = unpack(bundle, tmp_path / "b")
    src = d / "method" / "neuron_prune.py"
    src.write_bytes(src.read_bytes() + b"\n# harmless-looking change\n")
    message = refused(d, tmp_path, "does not match the manifest")
    assert "method sha256 in the manifest" in message


def test_changed_source_with_rehashed_manifest_is_refused_by_the_records(bundle, tmp_path):
    d = unpack(bundle, tmp_path / "b")
    src = d / "method" / "neuron_prune.py"
    src.write_bytes(src.read_bytes() + b"\n# swapped after the runs\n")
    manifest = json.loads((d / MANIFEST).read_text())
    manifest["method"]["sha256"] = sha256_bytes(src.read_bytes())
    manifest["files"]["method/neuron_prune.py"] = sha256_bytes(src.read_bytes())
    (d / MANIFEST).write_text(json.dumps(manifest))
    refused(d, tmp_path, "method_source_sha256 .* does not match the bundle's method source")


def test_below_the_accuracy_gate_is_refused(bundle, tmp_path):
    d = unpack(bundle, tmp_path / "b")

    def lower(r):
        res = r["results"]
        res["accuracy"] = res["accuracy_fp32"] * 0.95
        res["accuracy_delta_pp"] = (res["accuracy"] - res["accuracy_fp32"]) * 100
    edit_record(d, lower)
    rehash(d)
    refused(d, tmp_path, "below the gate")


def test_a_consistent_forgery_passes_ingest_but_not_reproduce(bundle, tmp_path, capsys):
    """Hashes prove integrity, not truth: a fully re-hashed forgery is caught by re-running it."""
    d = unpack(bundle, tmp_path / "b")

    def inflate(r):
        res = r["results"]
        res["accuracy"] = min(1.0, res["accuracy"] + 0.02)
        res["accuracy_delta_pp"] = (res["accuracy"] - res["accuracy_fp32"]) * 100
    edit_record(d, inflate)
    rehash(d)
    store = tmp_path / "store"
    ingest(d, store)
    code = main(["reproduce", str(d), "--store", str(store), "--speed-tol", SPEED_TOL])
    out = capsys.readouterr().out
    assert code == 1
    assert "accuracy_pct" in out and "FAIL" in out and "VERDICT: FAIL" in out


def test_unsafe_archive_paths_are_refused(tmp_path):
    bad = tmp_path / "evil.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo("../outside.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    with pytest.raises(BundleError, match="unsafe path"):
        load_bundle(bad)
    assert not (tmp_path.parent / "outside.json").exists()


def test_not_a_bundle_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    assert main(["ingest", str(tmp_path / "x"), "--store", str(tmp_path / "store")]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert not (tmp_path / "store").exists()


# -- issue 13: what a bundle may not carry ---------------------------------------------------------------

def test_a_bundle_taking_over_a_builtin_row_is_refused(bundle, tmp_path):
    """Issue 13 case 4: a re-hashed bundle naming itself ort-int8-dynamic, with verdict.passed and a 2099 date."""
    d = unpack(bundle, tmp_path / "b")

    def forge(r):
        r["config"]["method"] = "ort-int8-dynamic"
        r["created_utc"] = "2099-01-01T00:00:00Z"
        r["verdict"] = {"kind": "record", "passed": True, "of": r.get("id"), "checks": []}  # typed (schema v3)
    edit_record(d, forge)
    manifest = json.loads((d / MANIFEST).read_text())
    manifest["method"]["spec"] = "ort-int8-dynamic"
    (d / MANIFEST).write_text(json.dumps(manifest))
    rehash(d)
    message = refused(d, tmp_path, "takes the name of a built-in method")
    assert "carries verdict" in message and "is in the future" in message


def test_an_entry_point_name_must_be_namespaced(bundle, tmp_path):
    d = unpack(bundle, tmp_path / "b")
    edit_record(d, lambda r: r["config"].update(method="prune"))
    manifest = json.loads((d / MANIFEST).read_text())
    manifest["method"]["spec"] = "prune"
    (d / MANIFEST).write_text(json.dumps(manifest))
    rehash(d)
    refused(d, tmp_path, "is not namespaced")


def test_nan_in_a_bundle_record_is_refused(bundle, tmp_path):
    """Issue 13 case 10: a NaN accuracy compares false against the gate, so it would pass it."""
    import hashlib

    d = unpack(bundle, tmp_path / "b")
    (path,) = (d / "records").glob("*.json")
    record = json.loads(path.read_text())
    record["results"]["accuracy"] = float("nan")
    body = {k: v for k, v in record.items() if k != "id"}
    record["id"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                             ensure_ascii=False).encode()).hexdigest()[:16]
    path.unlink()
    (d / "records" / f"{record['id']}.json").write_text(json.dumps(record))
    manifest = json.loads((d / MANIFEST).read_text())
    manifest["records"] = [record["id"]]
    manifest["files"] = {str(p.relative_to(d)): sha256_bytes(p.read_bytes())
                         for p in sorted(d.rglob("*")) if p.is_file() and p.name != MANIFEST}
    (d / MANIFEST).write_text(json.dumps(manifest))
    refused(d, tmp_path, "NaN is not a finite number")


def test_a_nan_accuracy_gate_is_refused(bundle, tmp_path):
    with pytest.raises(BundleError, match="accuracy gate nan is not a finite fraction"):
        ingest(bundle, tmp_path / "store", min_relative_accuracy=float("nan"))
    assert not (tmp_path / "store").exists()


def test_a_huge_bundle_record_is_refused(bundle, tmp_path):
    """Issue 13 case 10: a small (compressed) bundle must not become a huge record."""
    d = unpack(bundle, tmp_path / "b")
    edit_record(d, lambda r: r["results"]["method_info"].update(blob="x" * (2 << 20)))
    rehash(d)
    refused(d, tmp_path, "over the 1048576-byte cap on a record")


def test_a_record_timed_under_load_is_refused_unless_forced(bundle, tmp_path, monkeypatch):
    from suite.measure import load
    monkeypatch.setattr(load, "HIGH_LOAD_SHARE", 0.20)  # tests/conftest.py lifts it for the other tests
    d = unpack(bundle, tmp_path / "b")

    def busy(r):
        for phase in ("single_stream", "offline"):
            r["results"]["timing"][phase]["load"].update(other_cpu_share=0.55, steal_share=0.0)
    edit_record(d, busy)
    rehash(d)
    message = refused(d, tmp_path, "timed under load")
    assert "55% of the CPUs" in message and "--force" in message
    result = ingest(d, tmp_path / "forced-store", force=True)
    assert len(result["added"]) == 1
