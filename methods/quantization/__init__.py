"""Quantization methods (see README). Modules register themselves on import; each imports its framework
lazily inside `apply`, so listing them needs neither PyTorch nor TensorFlow."""
from methods.quantization import ort, tflite, torch_q  # noqa: F401
