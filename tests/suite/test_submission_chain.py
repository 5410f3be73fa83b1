"""Chains with submitted stages are first-class (issue 19): `submit` takes one, each submitted stage's source is
in the bundle and its sha256 in the records (config.method_stages), parameter keys use the method's name (never a
path), ingest checks each stage, and `reproduce` re-runs the chain from the bundle. Unknown or ill-typed
parameters are refused before anything runs."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from suite.cli import main
from suite.errors import ConfigError
from suite.measure.latency import QUICK
from suite.submission import sandbox
from suite.submission.bundle import load_bundle, sha256_bytes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "submission" / "neuron_prune.py"
CHAIN = f"{EXAMPLE}:NeuronPrune+ort-int8-dynamic"
PARAMS = {"keep_ratio": "0.75"}  # fine-tuned: above the 99%-of-fp32 gate that ingest applies

pytestmark = pytest.mark.skipif(sandbox.unavailable_reason() is not None and not os.environ.get("CI"),
                                reason=f"no sandbox here: {sandbox.unavailable_reason()}")


@pytest.fixture(scope="module")
def chain_bundle(tmp_path_factory) -> Path:
    from suite.submission.submit import submit

    out = tmp_path_factory.mktemp("chain") / "chain.tar.gz"
    # cpu-1t, not the 2-thread cpu: these tests are about chains, and the reproduce test below re-times the
    # bundle's record; digits-mlp's 15-50 µs calls on the 2-thread pool gave batch-64 ratios of 0.81 then 1.86
    # between two runs on the 2-core VM (docs/measurement.md, `bench harness`), beyond any sane tolerance.
    result = submit(CHAIN, out, tracks=["digits-mlp"], targets=["cpu-1t"], params=PARAMS, settings=QUICK,
                    measure_memory=False)
    assert [r["status"] for r in result.records] == ["ok"], result.records[0].get("error")
    return result.bundle


def test_a_chain_bundle_holds_each_stage_source_and_names_no_path(chain_bundle):
    b = load_bundle(chain_bundle)
    method = b.manifest["method"]
    assert method["spec"] == "neuron_prune.py:NeuronPrune+ort-int8-dynamic"
    (stage,) = method["stages"]  # only the submitted stage has a source
    assert stage["stage"] == 1 and stage["sha256"] == sha256_bytes(EXAMPLE.read_bytes())
    assert b.files[stage["source"]] == EXAMPLE.read_bytes()
    (record,) = [json.loads(v) for k, v in b.files.items() if k.startswith("records/")]
    cfg = record["config"]
    assert cfg["method"] == method["spec"]
    assert cfg["method_stages"][0] == {"stage": 1, "method": "example-neuron-prune", "kind": "file",
                                       "spec": "neuron_prune.py:NeuronPrune", "source_sha256": stage["sha256"]}
    assert cfg["method_stages"][1] == {"stage": 2, "method": "ort-int8-dynamic", "kind": "builtin"}
    assert cfg["method_params"]["example-neuron-prune.keep_ratio"] == 0.75
    text = json.dumps(record)
    assert str(EXAMPLE.parent) not in text and "/sandbox/" not in text and "slimbench-" not in cfg["command"]


def test_a_chain_bundle_is_ingested_and_reproduced(chain_bundle, tmp_path, capsys):
    store = tmp_path / "store"
    assert main(["ingest", str(chain_bundle), "--store", str(store)]) == 0
    (record_path,) = sorted(store.glob("*.json"))
    original = json.loads(record_path.read_text())
    sha = original["config"]["method_stages"][0]["source_sha256"]
    assert (store / "method-sources" / sha / "neuron_prune.py").read_bytes() == EXAMPLE.read_bytes()
    capsys.readouterr()
    code = main(["reproduce", str(chain_bundle), "--store", str(store), "--speed-tol", "1.0"])
    out = capsys.readouterr().out
    assert code == 0, out
    reproduction = next(json.loads(p.read_text()) for p in store.glob("*.json") if p != record_path)
    assert reproduction["verdict"]["passed"] is True and reproduction["config"]["method"] == original["config"]["method"]


def test_a_forged_stage_sha256_is_refused_at_ingest(chain_bundle, tmp_path):
    from suite.submission.bundle import BundleError
    from suite.submission.ingest import validate_bundle

    b = load_bundle(chain_bundle)
    manifest = b.manifest
    manifest["method"]["stages"][0]["sha256"] = "0" * 64
    b.files["manifest.json"] = json.dumps(manifest).encode()
    with pytest.raises(BundleError, match="is not the method sha256 in the manifest"):
        validate_bundle(b)


def test_unknown_or_ill_typed_params_are_refused_before_any_run(tmp_path):
    from suite.submission.submit import submit

    with pytest.raises(ConfigError, match="keep_ratio"):  # the message lists the valid names
        submit(CHAIN, tmp_path / "b1", tracks=["digits-mlp"], targets=["cpu"], params={"keep_rato": "0.5"})
    with pytest.raises(ConfigError, match="cannot read 'lots' as float"):
        submit(CHAIN, tmp_path / "b2", tracks=["digits-mlp"], targets=["cpu"], params={"keep_ratio": "lots"})
    assert not (tmp_path / "b1").exists() and not (tmp_path / "b2").exists()
