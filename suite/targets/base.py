"""Target and Runner interfaces."""
from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from suite.artifacts import ExportedArtifact
from suite.errors import ArtifactFormatError


class Runner:
    """A loaded artifact: `predict(x)` returns logits (float32, (N, classes)) for a batch in feed layout."""
    threads: dict[str, Any] = {}

    def predict(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Target:
    name: ClassVar[str]
    description: ClassVar[str]
    runtime: ClassVar[str]
    formats: ClassVar[tuple[str, ...]]  # artifact formats it runs, by preference
    # Threads the runtime computes with: a number, or None for all usable cores of the machine. Part of the
    # target's identity (stated in its description and recorded): a ratio at 1 thread is not one at 2.
    intra_op_threads: ClassVar[int | None] = None

    def thread_count(self) -> int:
        return self.intra_op_threads or machine_threads()

    def thread_policy(self) -> str:
        n = self.intra_op_threads
        return f"{n} thread{'s' if n != 1 else ''}" if n else "all usable cores"

    def unavailable_reason(self) -> str | None:
        """None when this machine can run the target, else why not (missing runtime, no GPU)."""
        return None

    def check_format(self, artifact: ExportedArtifact) -> None:
        if artifact.format not in self.formats:
            raise ArtifactFormatError(
                f"target {self.name!r} ({self.runtime}) cannot run a {artifact.format!r} artifact "
                f"({artifact.path.name}); it runs: {', '.join(self.formats)}")

    def load(self, artifact: ExportedArtifact) -> Runner:
        self.check_format(artifact)
        return self._load(artifact)

    def _load(self, artifact: ExportedArtifact) -> Runner:
        raise NotImplementedError

    def runtime_version(self) -> str:
        return ""


def machine_threads() -> int:
    """All cores of this machine (respecting CPU affinity / container limits)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def to_layout(x: np.ndarray, layout: str) -> np.ndarray:
    """Datasets are stored in torch layout (NCHW / flat); convert once, outside any timed loop."""
    if layout == "NHWC" and x.ndim == 4:
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    return np.ascontiguousarray(x)
