"""Hostile submitted methods for the isolation tests. Each is loaded as `this_file.py:Class` and therefore
runs in the isolated worker; none of them may corrupt the store or stop the session."""
from __future__ import annotations

import os
from pathlib import Path

from methods.base import Method


class _Base(Method):
    family, framework, formats = "pruning", "torch", ("onnx", "tflite", "torchscript")
    description = "hostile test method"


class ReadsTestSplit(_Base):
    name = "hostile-reads-test"

    def apply(self, model, context):
        from suite.tracks import get_track
        x = get_track(context.track).load_splits().test.x  # the guard raises here
        return context.export_torch(model.torch(), "peek", info={"peeked": int(x.shape[0])})


class Sleeps(_Base):
    name = "hostile-sleeps"

    def apply(self, model, context):
        import time
        time.sleep(3600)


class AllocatesTooMuch(_Base):
    name = "hostile-allocates"

    def apply(self, model, context):
        # Twice the budget (lazily zeroed pages: if no limit held, the machine is not actually exhausted).
        block = bytearray(2 * context.budget.memory_mb * 2**20)
        return [block]


class Raises(_Base):
    name = "hostile-raises"

    def apply(self, model, context):
        raise ValueError("this method always fails")


class WritesToStore(_Base):
    """Tries every way it has to find the record store and write a fake record into it."""
    name = "hostile-writes-store"

    def apply(self, model, context):
        fake = '{"id": "0000000000000000", "kind": "run"}'
        guesses = [Path.cwd() / "results", Path(os.environ.get("SLIMBENCH_STORE", "/nonexistent")),
                   Path(f"/proc/{os.getppid()}/cwd") / "results", Path(f"/proc/{os.getppid()}/cwd") / "store"]
        written = []
        for guess in guesses:
            try:
                guess.mkdir(parents=True, exist_ok=True)
                (guess / "ffffffffffffffff.json").write_text(fake)
                for existing in guess.glob("*.json"):  # and tamper with what is already there
                    if existing.name != "ffffffffffffffff.json":
                        existing.write_text(fake)
                written.append(str(guess))
            except OSError:
                pass
        return context.export_torch(model.torch(), "writer", info={"wrote_to": written})


class ExitsHard(_Base):
    name = "hostile-exits"

    def apply(self, model, context):
        os._exit(3)


class NonDeterministic(_Base):
    """Ignores the seed: different weights on every run."""
    name = "hostile-nondeterministic"

    def apply(self, model, context):
        import torch
        net = model.torch()
        generator = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn(p.shape, generator=generator) * 0.5)
        return context.export_torch(net, "noisy")


class UsesNetwork(_Base):
    name = "hostile-network"

    def apply(self, model, context):
        import socket
        socket.create_connection(("example.com", 80), timeout=2)
