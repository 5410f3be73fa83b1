"""What the clustering methods share: config checks and the facts an artifact reports (shared values per layer)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from suite.errors import ConfigError

SPEEDUP_NOTE_CLUSTERING = (
    "weight clustering: the exported model keeps dense float weight tensors whose values repeat (a few shared "
    "values per layer), so dense runtime kernels do the same work; the gain is storage (see gzip size, or an "
    "index + codebook encoding), not speed. Any speedup in this record was measured, not assumed.")


def check_clusters(clusters: int, where: str) -> None:
    if not isinstance(clusters, int) or isinstance(clusters, bool) or not 2 <= clusters <= 256:
        raise ConfigError(f"{where}={clusters!r} must be an integer in [2, 256] (shared values per layer)")


def index_bits(clusters: int) -> int:
    """Bits of a cluster index (Deep Compression stores weights as these indices plus a codebook)."""
    return max(1, math.ceil(math.log2(clusters)))


def cluster_report(named_kernels: list[tuple[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    """Per layer: weights, non-zeros, distinct non-zero values (what clustering bounds) and sparsity."""
    out = {}
    for name, kernel in named_kernels:
        values = np.asarray(kernel)
        nonzero = values[values != 0]
        out[name] = {"shape": list(values.shape), "weights": int(values.size), "nonzero": int(nonzero.size),
                     "distinct_nonzero_values": int(np.unique(nonzero).size),
                     "sparsity": round(1 - nonzero.size / values.size, 6)}
    return out


def summary(report: dict[str, dict[str, Any]], clusters: int) -> dict[str, Any]:
    weights = sum(r["weights"] for r in report.values())
    nonzero = sum(r["nonzero"] for r in report.values())
    return {"clusters": clusters, "index_bits": index_bits(clusters),
            "max_distinct_values_per_layer": max((r["distinct_nonzero_values"] for r in report.values()), default=0),
            "weights": weights, "nonzero_weights": nonzero, "sparsity": round(1 - nonzero / max(1, weights), 6),
            "weights_kept": round(nonzero / max(1, weights), 6),
            # Deep Compression's storage estimate: index bits per non-zero weight + a 32-bit codebook per layer
            # (an estimate of an encoding; the artifact itself stores float32 values: see gzip size)
            "codebook_compression_x_estimate": round(32 * weights / max(1, index_bits(clusters) * nonzero
                                                             + 32 * clusters * len(report)), 3),
            "layers": report, "weight_bits": 32, "activation_bits": 32, "speedup_note": SPEEDUP_NOTE_CLUSTERING}
