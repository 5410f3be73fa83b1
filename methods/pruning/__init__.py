"""Pruning methods (see README). Modules register themselves on import."""
from methods.pruning import channel, magnitude, tfmot_prune  # noqa: F401  (registration)
