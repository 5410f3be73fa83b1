"""Weight clustering (weight sharing): every layer's weights take one of a few shared values, so an index of a few
bits plus a small codebook describes them (Han et al. 2016, Deep Compression, stage 2). `torch-kmeans` (PyTorch)
and `tfmot-cluster` (TF-MOT `cluster_weights`) are chainable: prune -> cluster -> quantize."""
from methods.clustering import kmeans, tfmot_cluster  # noqa: F401  (registers the methods)
