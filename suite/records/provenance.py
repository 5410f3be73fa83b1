"""Where a number came from: code version, packages, hardware (host name, CPU model and ISA flags), threads, OS."""
from __future__ import annotations

import os
import platform
import socket
import subprocess
from functools import lru_cache
from importlib import metadata

from suite.paths import REPO_ROOT

TRACKED_PACKAGES = ["slimbench", "numpy", "torch", "onnx", "onnxruntime", "onnxscript", "tensorflow", "tf-keras",
                    "keras", "tensorflow-model-optimization", "ai-edge-litert", "scikit-learn", "torch-pruning",
                    "tokenizers", "tensorrt", "onnxruntime-gpu"]
_CPU_FLAGS = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
              "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "i8mm", "sve"]


def package_versions(names=TRACKED_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


@lru_cache(maxsize=1)
def git_state() -> dict:
    def git(*args):
        return subprocess.run(["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        status = git("status", "--porcelain", "--untracked-files=no")
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}


@lru_cache(maxsize=1)
def cpu_info() -> dict:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model") and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return {"model": model, "logical_cores": os.cpu_count(), "machine": platform.machine(),
            "flags": sorted(f for f in _CPU_FLAGS if f in flags)}


def gpu_info() -> dict | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    name, driver, memory = [s.strip() for s in out.stdout.splitlines()[0].split(",")]
    return {"model": name, "driver": driver, "memory": memory}


def collect(threads: dict | None = None) -> dict:
    return {
        "code": {**git_state(), "slimbench_version": _own_version()},
        "packages": package_versions(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "hostname": socket.gethostname(),  # which machine of a cluster measured it (suite/executors)
        "cpu": cpu_info(),
        "gpu": gpu_info(),
        "threads": threads or {},
    }


def _own_version() -> str:
    from suite import __version__
    return __version__
