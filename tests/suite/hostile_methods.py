"""Hostile submitted methods for the isolation tests. Each is loaded as `this_file.py:Class` and therefore
runs in the sandboxed worker; none of them may corrupt the store or the repository or stop the session.

The tests give the attacks the worst case: `hostile_copy()` writes a copy of this file whose ATTACK holds
the real paths (record store, repository, dataset directory) and a listening port on this machine, as
if the method had found them. Attacks do not catch their own failures: a blocked attack raises, and the
run ends as a failed record whose message shows what the OS refused."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from methods.base import Method

ATTACK: dict = json.loads(os.environ.get("HOSTILE_ATTACK_JSON", "{}"))  # replaced in hostile_copy()
MARKER = "slimbench-hostile-marker"


def _tamper_with_store(store: Path) -> None:
    """Delete one record, corrupt another, add a forged one (what issue 13 case 1 did)."""
    records = sorted(store / name for name in os.listdir(store) if name.endswith(".json"))
    records[0].unlink()
    if len(records) > 1:
        records[1].write_text("{}")
    (store / "ffffffffffffffff.json").write_text('{"id": "ffffffffffffffff", "kind": "run"}')


if ATTACK.get("at_import"):
    # Issue 13 case 1: at import time, before any guard: find the store through the parent's command line,
    # then through the path the attacker learnt.
    cmdline = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    _tamper_with_store(Path(ATTACK["store"]))


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


class _Attacker(_Base):
    """Returns a plain fp32 export if the attack did not raise (it should always raise in the sandbox)."""

    def attack(self, model, context):
        raise NotImplementedError

    def apply(self, model, context):
        self.attack(model, context)
        return context.export_torch(model.torch(), "attacker")


class ImportTimeTamper(_Attacker):
    name = "hostile-import-time"

    def attack(self, model, context):
        pass


class TampersWithStore(_Attacker):
    name = "hostile-tampers-store"

    def attack(self, model, context):
        _tamper_with_store(Path(ATTACK["store"]))


class WritesRepository(_Attacker):
    """Issue 13 case 2: a forged record among the published ones and a patched harness module."""
    name = "hostile-writes-repo"

    def attack(self, model, context):
        repo = Path(ATTACK["repo"])
        (repo / "leaderboard" / "results" / "eeeeeeeeeeeeeeee.json").write_text('{"forged": true}')

    def apply(self, model, context):
        repo = Path(ATTACK["repo"])
        errors = []
        for action in (lambda: (repo / "suite" / "measure" / "accuracy.py").open("a").write("\n# patched\n"),
                       lambda: (repo / "suite" / f"{MARKER}.py").write_text("x = 1"),
                       lambda: self.attack(model, context)):
            try:
                action()
            except OSError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        raise PermissionError("every repository write was refused: " + " | ".join(errors))


class ReadsTestSplitAttribute(_Attacker):
    """Issue 13 case 5: the private attribute behind the guarded property."""
    name = "hostile-test-attribute"

    def attack(self, model, context):
        from suite.data.datasets import load_dataset
        from suite.tracks import get_track
        return load_dataset(get_track(context.track).dataset)._test.x


class ReadsTestSplitFromThread(_Attacker):
    """Issue 13 case 5: the ContextVar guard is per thread; read from a new one."""
    name = "hostile-test-thread"

    def attack(self, model, context):
        import threading

        from suite.tracks import get_track
        box = {}

        def read():
            try:
                box["x"] = get_track(context.track).load_splits().test.x
            except BaseException as exc:  # noqa: BLE001 - carried to the main thread
                box["error"] = exc
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
        if "error" in box:
            raise box["error"]


class ReadsTestSplitFiles(_Attacker):
    """Issue 13 case 5: the raw files (the parent's SLIMBENCH_DATA, scikit-learn's bundled digits)."""
    name = "hostile-test-files"

    def attack(self, model, context):
        import sklearn.datasets
        found = []
        for path in [Path(p) for p in ATTACK["data_files"]] + \
                [Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"]:
            try:
                found.append(f"{path}: {len(path.read_bytes())} bytes")
            except OSError:
                pass
        for pid in {1, os.getppid()}:  # the parent's environment names the dataset directory
            try:
                if b"SLIMBENCH_DATA" in Path(f"/proc/{pid}/environ").read_bytes():
                    found.append(f"SLIMBENCH_DATA in /proc/{pid}/environ")
            except OSError:
                pass
        if found:
            return found  # the attack worked
        raise FileNotFoundError(f"no test-split file is reachable (tried {len(ATTACK['data_files']) + 1} files "
                                "and the parent's environment)")


class SetsidChildren(_Base):
    """Issue 13 case 6: children in their own sessions (and a double-forked one); then the method ends (or, with
    ATTACK["hang"], hangs until it is killed)."""
    name = "hostile-setsid"

    def apply(self, model, context):
        import subprocess
        import sys
        import time
        marker = ATTACK.get("process_marker", MARKER)  # the test's per-run marker: it counts only its own
        sleeper = [sys.executable, "-c", f"import time; time.sleep(1000)  # {marker}"]
        for _ in range(int(ATTACK.get("children", 10))):
            subprocess.Popen(sleeper, start_new_session=True)
        subprocess.Popen(["setsid", "sh", "-c", f"setsid {sys.executable} -c 'import time; time.sleep(1000)  # "
                          f"{marker}' & exec sleep 1000"])
        if ATTACK.get("hang"):
            time.sleep(3600)  # until the wall time (or the harness) ends it
        time.sleep(float(ATTACK.get("linger_s", 4)))
        raise RuntimeError("leaving my children behind")


class SleepsThenFails(_Base):
    """Runs long enough for a concurrent built-in run to write its record meanwhile."""
    name = "hostile-sleeps-then-fails"

    def apply(self, model, context):
        import time
        time.sleep(float(ATTACK.get("sleep_s", 8)))
        raise RuntimeError("done sleeping")


class RawSocketNetwork(_Attacker):
    """Issue 13 case 8: `_socket` (under the patched socket.socket) to a port listening on this machine."""
    name = "hostile-raw-socket"

    def attack(self, model, context):
        import _socket
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect(("127.0.0.1", int(ATTACK["port"])))
        s.send(b"leak")


class SubprocessNetwork(_Attacker):
    """Issue 13 case 8: a child process connects to a port listening on this machine."""
    name = "hostile-subprocess-network"

    def attack(self, model, context):
        import subprocess
        import sys
        code = (f"import socket; s = socket.create_connection(('127.0.0.1', {int(ATTACK['port'])}), timeout=3); "
                "s.sendall(b'leak')")
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        if child.returncode != 0:
            raise ConnectionError(f"the child process could not connect: {child.stderr.strip()[-300:]}")


class FalseClaims(_Base):
    """Issue 13 case 9: the unchanged fp32 model claiming 10 non-zero parameters and 2-bit weights."""
    name = "hostile-false-claims"

    def apply(self, model, context):
        artifacts = context.export_torch(model.torch(), "claims", info={"weight_bits": 2})
        for artifact in artifacts:
            artifact.params, artifact.nonzero_params = 100, 10
        return artifacts


class MarkupName(_Base):
    """Issue 13 case 10: Markdown/HTML in what the method says about itself."""
    name = "[best](http://evil.example/) ![x](http://evil.example/pixel.png)"
    framework = "<img src=http://evil.example/x>"

    def apply(self, model, context):
        return context.export_torch(model.torch(), "markup")


class HugeInfo(_Base):
    """Issue 13 case 10: a record blown up through the method's facts."""
    name = "hostile-huge-info"

    def apply(self, model, context):
        return context.export_torch(model.torch(), "huge", info={"blob": "x" * (5 << 20)})


class NaNInfo(_Base):
    """Issue 13 case 10: NaN in the method's facts."""
    name = "hostile-nan-info"

    def apply(self, model, context):
        return context.export_torch(model.torch(), "nan", info={"lr": float("nan")})


@dataclass(frozen=True)
class NaNParamConfig:
    lr: float = 0.01   # no range check: `lr=nan` is what issue 13 case 10 passed


class NaNParam(_Base):
    """Issue 13 case 10: `lr=nan` gave an ok record at 8%."""
    name = "hostile-nan-param"
    Config = NaNParamConfig

    def apply(self, model, context):
        return context.export_torch(model.torch(), "nanparam")


def _onnx_artifact(context, graph_builder, stem: str):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    from suite.artifacts import ExportedArtifact
    nodes, inits = graph_builder(np, helper, TensorProto)
    graph = helper.make_graph(nodes, stem, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = Path(context.workdir) / f"{stem}.onnx"
    Path(context.workdir).mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return ExportedArtifact("onnx", path, "flat", 650, 650, "onnx")


def _head(np, helper, TensorProto):
    w = helper.make_tensor("w", TensorProto.FLOAT, [64, 10], np.full(640, 0.01, dtype=np.float32).tolist())
    return helper.make_node("MatMul", ["x", "w"], ["y"]), w


class OnnxEndlessLoop(_Base):
    """Issue 13 case 3: an ONNX Loop of 2^62 steps (hung a suite)."""
    name = "hostile-onnx-loop"
    formats = ("onnx",)

    def apply(self, model, context):
        def build(np, helper, TensorProto):
            head, w = _head(np, helper, TensorProto)
            body = helper.make_graph(
                [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                 helper.make_node("Add", ["acc_in", "one"], ["acc_out"])], "body",
                [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                 helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, [])],
                [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                 helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, [])],
                [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])])
            trip = helper.make_tensor("trip", TensorProto.INT64, [], [2**62])
            cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
            zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
            loop = helper.make_node("Loop", ["trip", "cond", "zero"], ["acc"], body=body)
            mm = helper.make_node("MatMul", ["x", "w"], ["mm"])
            add = helper.make_node("Add", ["mm", "acc"], ["y"])
            return [loop, mm, add], [w, trip, cond, zero]
        return _onnx_artifact(context, build, "loop")


class OnnxHugeAllocation(_Base):
    """Issue 13 case 3: an ONNX graph that allocates far beyond the memory budget (took 12.7 GB)."""
    name = "hostile-onnx-memory"
    formats = ("onnx",)

    def apply(self, model, context):
        def build(np, helper, TensorProto):
            head, w = _head(np, helper, TensorProto)
            shape = helper.make_tensor("shape", TensorProto.INT64, [1], [16 * 2**30 // 4])  # 16 GiB of float32
            big = helper.make_node("ConstantOfShape", ["shape"], ["big"],
                                   value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))
            total = helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0)
            mm = helper.make_node("MatMul", ["x", "w"], ["mm"])
            add = helper.make_node("Add", ["mm", "total"], ["y"])
            return [big, total, mm, add], [w, shape]
        return _onnx_artifact(context, build, "alloc")


class TorchScriptFromFile(_Base):
    """Issue 13 case 3: a TorchScript model that maps a store file with torch.from_file(shared=True) and
    writes into it whenever it runs."""
    name = "hostile-torchscript-from-file"
    formats = ("torchscript",)

    def apply(self, model, context):
        import torch

        from suite.artifacts import ExportedArtifact
        target = ATTACK["store_file"]  # an existing record, as the attacker learnt it

        class Writer(torch.nn.Module):
            def __init__(self, path: str):
                super().__init__()
                self.path = path
                self.head = torch.nn.Linear(64, 10)

            def forward(self, x):
                mapped = torch.from_file(self.path, shared=True, size=16, dtype=torch.uint8)
                mapped.fill_(65)
                return self.head(x) + mapped[0].float() * 0  # used, so TorchScript keeps the write

        scripted = torch.jit.script(Writer(target))
        path = Path(context.workdir) / "writer.ts"
        Path(context.workdir).mkdir(parents=True, exist_ok=True)
        torch.jit.save(scripted, str(path))
        return ExportedArtifact("torchscript", path, "flat", 650, 650, "torch")
