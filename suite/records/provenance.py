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


# What decides int8 / fp16 speed on a CPU, best first within each architecture. The first class whose
# flags are all present names the machine (`isa_class`); ratios from different classes are not comparable.
ISA_CLASSES = [
    ("x86-amx", ("amx_int8",)),
    ("x86-avx512-vnni", ("avx512_vnni",)),
    ("x86-avx-vnni", ("avx_vnni",)),
    ("x86-avx512", ("avx512f",)),
    ("x86-avx2", ("avx2",)),
    ("arm-i8mm", ("i8mm",)),
    ("arm-dotprod", ("asimddp",)),
    ("arm-neon", ("asimd",)),
]
# /proc/cpuinfo spells some of them differently on older kernels / ARM
_FLAG_ALIASES = {"avx512vnni": "avx512_vnni", "avxvnni": "avx_vnni", "dotprod": "asimddp"}
# ARM "CPU implementer" codes of the common vendors (arch/arm64 cputype.h)
_ARM_IMPLEMENTERS = {"0x41": "ARM", "0x42": "Broadcom", "0x43": "Cavium", "0x46": "Fujitsu", "0x48": "HiSilicon",
                     "0x4e": "NVIDIA", "0x51": "Qualcomm", "0x61": "Apple", "0xc0": "Ampere"}


def isa_class(flags, machine: str = "") -> str:
    """The int8/fp16-relevant ISA class of a CPU from its flags (e.g. 'x86-avx2', 'x86-avx512-vnni', 'arm-i8mm');
    'x86-baseline' / 'arm' / 'unknown' when none of the listed features is present."""
    flags = {_FLAG_ALIASES.get(f, f) for f in (flags or [])}
    for name, needed in ISA_CLASSES:
        if all(f in flags for f in needed):
            return name
    m = (machine or "").lower()
    if m in ("x86_64", "amd64", "i386", "i686"):
        return "x86-baseline"
    if m.startswith(("arm", "aarch64")):
        return "arm"
    return "unknown"


def record_isa_class(record: dict) -> str:
    """A record's ISA class: provenance.cpu.isa_class, or derived from the flags older records carry (for the
    board's grouping and filter: ratios from different classes are not ranked as equal)."""
    cpu = (record.get("provenance") or {}).get("cpu") or {}
    return cpu.get("isa_class") or isa_class(cpu.get("flags") or [], cpu.get("machine") or "")


def parse_cpuinfo(text: str, machine: str = "") -> dict:
    """Vendor, model and the ISA flags that matter (ISA_CLASSES + _CPU_FLAGS) from /proc/cpuinfo's text."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip()
        if sep and key and key not in fields:  # the first processor's block describes the (homogeneous) CPU
            fields[key] = value.strip()
    flags = {_FLAG_ALIASES.get(f, f) for f in (fields.get("flags") or fields.get("Features") or "").split()}
    vendor = fields.get("vendor_id")
    if vendor is None and "CPU implementer" in fields:
        vendor = _ARM_IMPLEMENTERS.get(fields["CPU implementer"].lower(), fields["CPU implementer"])
    model = fields.get("model name") or fields.get("Model") or fields.get("Hardware")
    info = {"vendor": vendor, "model": model, "family": fields.get("cpu family"),
            "model_id": fields.get("model") if "cpu family" in fields else fields.get("CPU part"),
            "stepping": fields.get("stepping"), "microcode": fields.get("microcode"),
            "flags": sorted(f for f in _CPU_FLAGS if f in flags)}
    arch = "arm" if machine.lower().startswith(("arm", "aarch64")) else "x86" if machine else ""
    info["isa"] = {name: (name in flags) for name in _ISA_FEATURES.get(arch, _ISA_FEATURES["x86"] + _ISA_FEATURES["arm"])}
    info["isa_class"] = isa_class(flags, machine)
    return info


# Named booleans in every record (False = checked and absent), so a missing feature is visible too
_ISA_FEATURES = {"x86": ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8",
                         "amx_bf16"],
                 "arm": ["asimd", "asimddp", "i8mm", "sve"]}


@lru_cache(maxsize=1)
def cpu_info() -> dict:
    machine = platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            info = parse_cpuinfo(handle.read(), machine)
    except OSError:  # no /proc (macOS, Windows): the model from platform, ISA unknown
        info = {"vendor": None, "model": None, "flags": [], "isa": {}, "isa_class": isa_class([], machine)}
    if not info.get("model"):
        info["model"] = platform.processor() or machine or "unknown"
    return {**info, "logical_cores": os.cpu_count(), "usable_cores": _usable_cores(), "machine": machine}


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


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
