"""Exporters from a framework model to deployment artifacts (ONNX, TFLite, TorchScript)."""
from methods.export.common import export_torch_model

__all__ = ["export_torch_model"]
