"""Quantization methods (see README). Modules register themselves on import."""
