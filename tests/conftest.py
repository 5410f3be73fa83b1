"""Shared test set-up: real data from ../shared/datasets when present, else the bundled digits only."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "datasets"

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TF-MOT needs tf-keras; before any TF import
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if not os.environ.get("SLIMBENCH_DATA") and (SHARED_DATA / "MANIFEST.json").exists():
    os.environ["SLIMBENCH_DATA"] = str(SHARED_DATA)
# Tests never download: a missing dataset must skip (MNIST) or use the bundled digits.
os.environ.setdefault("SLIMBENCH_OFFLINE", "1")
# Test records are smoke timings on whatever machine runs the tests (often a busy one): they are not refused
# for load by publish/ingest; tests/suite/test_load_gate.py checks the gate at its real threshold.
os.environ.setdefault("SLIMBENCH_HIGH_LOAD_SHARE", "1.0")


def _mnist_available() -> bool:
    data = os.environ.get("SLIMBENCH_DATA")
    return bool(data) and (Path(data) / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


MNIST_AVAILABLE = _mnist_available()
requires_mnist = pytest.mark.skipif(not MNIST_AVAILABLE, reason="MNIST not in $SLIMBENCH_DATA (../shared/datasets)")


@pytest.fixture
def quick_session(tmp_path):
    """A harness session with short latency loops and no memory probe, writing to a temp store."""
    from suite.harness import Session
    from suite.measure.latency import QUICK
    from suite.submission.launcher import isolated

    # As the CLI makes it: built-ins in-process, submitted files isolated.
    return Session(tmp_path / "store", settings=QUICK, workdir=tmp_path / "work", measure_memory=False,
                   applier=isolated())


@pytest.fixture
def method_context(tmp_path):
    """Build a MethodContext for a track (default digits-mlp) as the harness would."""
    def make(track_name: str = "digits-mlp", formats=("onnx", "tflite", "torchscript"), seed: int = 0):
        from suite.context import make_context
        from suite.tracks import get_track

        track = get_track(track_name)
        return track, make_context(track, track.load_splits(), seed, tmp_path / "work" / f"ctx-{track_name}", formats)
    return make
