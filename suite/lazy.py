"""Lazy framework imports with a clear 'install extra X' message."""
import importlib
import os


def require(module: str, extra: str):
    """Import `module` or raise MissingExtraError naming the extra that provides it."""
    from suite.errors import MissingExtraError

    if module.startswith("tensorflow") or module.startswith("tf_keras"):
        # TF-MOT only works with tf-keras (Keras 2); must be set before TensorFlow is imported.
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, extra) from exc
