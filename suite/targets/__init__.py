"""Targets: deployment runtimes with their production kernels, registered by name."""
from suite.registry import Registry


def _load_builtin() -> None:
    from suite.targets import cpu, cpu_torch, edge, gpu  # noqa: F401


TARGETS = Registry("target", loader=_load_builtin)


def get_target(name: str):
    return TARGETS.get(name)()
