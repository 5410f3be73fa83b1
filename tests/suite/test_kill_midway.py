"""A run killed midway (SIGKILL) leaves the store valid and every earlier record byte-identical."""
import os
import signal
import subprocess
import sys
import time

from suite.records.store import RecordStore

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run_cli(store, cwd, *extra):
    return subprocess.Popen([sys.executable, "-m", "suite.cli", "run", "--track", "digits-mlp", "--method", "fp32",
                             "--target", "cpu", "--store", str(store), *extra],
                            cwd=cwd, env=dict(os.environ, PYTHONPATH=REPO), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def test_sigkill_during_a_run_leaves_the_store_valid(tmp_path):
    store = tmp_path / "store"
    first = _run_cli(store, tmp_path, "--quick", "--no-memory")
    assert first.wait(timeout=300) == 0, first.stdout.read().decode()[-3000:]
    before = {p.name: p.read_bytes() for p in store.glob("*.json")}  # records (not the store's lock/journal)
    assert len(before) == 1

    # Second run: long latency loops, killed once the method has produced its artifact (mid-measurement).
    victim = _run_cli(store, tmp_path)  # default settings: seconds of timing, plus the memory probe
    work = tmp_path / ".slimbench-work"
    deadline = time.time() + 120
    while time.time() < deadline and not list(work.glob("*/*/*.onnx")):
        time.sleep(0.05)
    assert list(work.glob("*/*/*.onnx")), "the run never reached its export"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    after = {p.name: p.read_bytes() for p in store.iterdir() if not p.name.startswith(".")}
    assert after == before  # nothing lost, nothing partial
    assert [r["id"] + ".json" for r in RecordStore(store).records()] == list(before)
