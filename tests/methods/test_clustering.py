"""Weight clustering (issue 19): torch-kmeans (PyTorch k-means weight sharing) and tfmot-cluster (TF-MOT
cluster_weights), family `clustering`, both chainable (prune -> cluster -> quantize)."""
from __future__ import annotations

import numpy as np
import pytest

from suite.errors import ConfigError


def _reference(track_name="digits-mlp"):
    from suite.tracks import get_track
    from suite.tracks.base import ReferenceModel
    return ReferenceModel(get_track(track_name))


def test_kmeans_1d_finds_separated_clusters():
    from methods.clustering.kmeans import kmeans_1d

    rng = np.random.default_rng(0)
    true = np.array([-1.0, 0.2, 3.0])
    values = np.concatenate([c + 0.01 * rng.standard_normal(200) for c in true])
    centroids, assign, ran = kmeans_1d(values, 3, "linear", 50, rng)
    assert np.allclose(centroids, true, atol=0.01)
    assert list(np.bincount(assign)) == [200, 200, 200] and ran < 50
    assert np.all(np.diff(centroids) > 0)


def test_methods_are_registered_as_clustering():
    from methods import METHODS

    for name in ("torch-kmeans", "tfmot-cluster"):
        assert METHODS.get(name).family == "clustering"


@pytest.mark.parametrize("params, message", [
    ({"clusters": "1"}, "clusters=1 must be an integer in \\[2, 256\\]"),
    ({"init": "kmeans"}, "'kmeans' is not one of linear, density, random"),
    ({"lr": "-1"}, "lr=-1.0"),
])
def test_kmeans_config_errors_are_clear(params, message):
    from methods.clustering.kmeans import TorchKMeans

    with pytest.raises(ConfigError, match=message):
        TorchKMeans.from_params(params)


def test_tfmot_cluster_config_errors_are_clear():
    from methods.clustering.tfmot_cluster import TfmotCluster

    with pytest.raises(ConfigError, match="tfmot-cluster.clusters=300"):
        TfmotCluster.from_params({"clusters": "300"})
    with pytest.raises(ConfigError, match="'kmeans' is not one of kmeans\\+\\+"):
        TfmotCluster.from_params({"init": "kmeans"})


def _onnx_weights(path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    return [numpy_helper.to_array(t) for t in model.graph.initializer if numpy_helper.to_array(t).ndim >= 2]


def test_torch_kmeans_shares_values_in_the_exported_onnx(method_context):
    """Every weight matrix of the exported artifact has at most `clusters` distinct values; biases are kept."""
    from methods.clustering.kmeans import TorchKMeans

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    [artifact] = TorchKMeans.from_params({"clusters": "8", "epochs": "1"}).apply(_reference(), ctx)
    weights = _onnx_weights(artifact.path)
    assert len(weights) == 3
    for w in weights:
        assert len(np.unique(w)) <= 8
    info = artifact.info
    assert info["clusters"] == 8 and info["index_bits"] == 3 and info["max_distinct_values_per_layer"] <= 8
    assert info["finetune_epochs"] == 1 and info["validation_accuracy"] > 0.9


def test_torch_kmeans_keeps_pruned_zeros(method_context):
    """magnitude -> k-means: the zeros of the pruned model stay exactly zero (not a centroid near zero)."""
    from methods.chain import ChainMethod  # noqa: F401  (resolve builds it)
    from methods.resolve import resolve_method

    _, ctx = method_context("digits-mlp", formats=("onnx",))
    chain = resolve_method("torch-magnitude+torch-kmeans", {"sparsity": "0.8", "schedule": "oneshot"})
    [artifact] = chain.apply(_reference(), ctx)
    magnitude, kmeans = artifact.info["chain"]
    pruned = magnitude["info"]["sparsity"]
    assert artifact.info["sparsity"] == pytest.approx(pruned, abs=1e-6)
    zeros = sum(int((w == 0).sum()) for w in _onnx_weights(artifact.path))
    total = sum(w.size for w in _onnx_weights(artifact.path))
    assert zeros / total == pytest.approx(pruned, abs=1e-6)
    for w in _onnx_weights(artifact.path):
        assert len(np.unique(w[w != 0])) <= 16


def test_tfmot_cluster_runs_tf_mot_and_exports_tflite(quick_session):
    """TF-MOT's own clustering on the edge target: the TFLite weights carry at most `clusters` values per kernel."""
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "tfmot-cluster", "edge", params={"clusters": "8"}))
    assert record["status"] == "ok", record.get("error")
    info = record["results"]["method_info"]
    assert "TF-MOT cluster_weights" in info["weight_sharing"]
    assert info["max_distinct_values_per_layer"] <= 8
    assert record["config"]["method_family"] == "clustering"
    assert record["results"]["accuracy"] > 0.9
    assert record["results"]["size"]["gzip_compression_ratio"] > 2  # repeated values compress


def test_prune_cluster_quantize_in_tf_mot(quick_session):
    """Deep Compression in TF-MOT: tfmot-prune -> tfmot-cluster (sparsity-preserving) -> tflite-int8."""
    from suite.harness import RunSpec

    record = quick_session.run(RunSpec("digits-mlp", "tfmot-prune+tfmot-cluster+tflite-int8", "edge",
                                       params={"tfmot-prune.sparsity": "0.8"}))
    assert record["status"] == "ok", record.get("error")
    prune, cluster, last = record["results"]["method_info"]["chain"]
    assert cluster["info"]["sparsity"] == pytest.approx(prune["info"]["sparsity"], abs=1e-3)
    assert cluster["info"]["max_distinct_values_per_layer"] <= 16
    # the final artifact carries the latest stage's sparsity (clustering may add zeros at its zero centroid)
    assert record["results"]["method_info"]["sparsity"] == cluster["info"]["sparsity"]
    assert record["results"]["method_info"]["weight_dtypes"] == ["int8"]
    assert record["results"]["accuracy"] > 0.85
