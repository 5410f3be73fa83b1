"""Distillation methods (see README). Modules register themselves on import.

kd-hinton / student-scratch are PyTorch (kd_torch); keras-kd is tf-keras (kd_keras). Framework imports
stay inside the adapters' apply(), so importing this package is cheap."""
from methods.distillation import kd_keras, kd_torch  # noqa: F401
