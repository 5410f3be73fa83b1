"""The `slimbench` command line as a user meets it."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suite.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_list_prints_every_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for expected in ("digits-mlp", "mnist-lenet300", "mnist-lenet5", "fp32", "cpu", "edge", "cpu-torch", "default"):
        assert expected in out


def test_list_starts_fast_without_importing_frameworks():
    code = ("import sys, time; t = time.time(); from suite.cli import main; main(['list']); "
            "heavy = [m for m in ('torch', 'tensorflow', 'onnxruntime', 'ai_edge_litert') if m in sys.modules]; "
            "print('HEAVY', heavy)")
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert time.time() - start < 30


def test_unknown_method_is_exit_2_with_valid_names(capsys, tmp_path):
    code = main(["run", "--track", "digits-mlp", "--method", "nope", "--target", "cpu", "--store", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown method 'nope'" in err and "fp32" in err
    assert not list(tmp_path.iterdir())


def test_bad_param_syntax_is_a_clear_error(capsys, tmp_path):
    code = main(["run", "--track", "digits-mlp", "--method", "fp32", "--target", "cpu", "--store", str(tmp_path),
                 "--param", "oops"])
    assert code == 2 and "KEY=VALUE" in capsys.readouterr().err


def test_run_then_show(capsys, tmp_path):
    store = tmp_path / "store"
    assert main(["run", "--track", "digits-mlp", "--method", "fp32", "--target", "edge", "--store", str(store),
                 "--quick", "--no-memory"]) == 0
    out = capsys.readouterr().out
    assert "digits-mlp" in out and "97.22" in out
    (path,) = store.glob("*.json")
    assert main(["show", path.stem[:8], "--store", str(store)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == path.stem


def test_show_unknown_id_is_a_clear_error(capsys, tmp_path):
    assert main(["show", "ffffffff", "--store", str(tmp_path)]) == 2
    assert "no record with id starting 'ffffffff'" in capsys.readouterr().err


def test_unknown_or_ill_typed_param_is_refused_before_any_run(capsys, tmp_path):
    store = tmp_path / "store"
    code = main(["run", "--track", "digits-mlp", "--method", "torch-magnitude", "--target", "cpu",
                 "--store", str(store), "--param", "sparsty=0.5"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown parameter(s) sparsty" in err and "valid: sparsity" in err
    code = main(["run", "--track", "digits-mlp", "--method", "torch-magnitude+tflite-int8", "--target", "edge",
                 "--store", str(store), "--param", "torch-magnitude.sparsity=much"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot read 'much' as float" in err
    assert not store.exists() or not list(store.glob("*.json"))  # nothing ran, nothing recorded


def test_describe_prints_parameters_types_defaults_and_docs(capsys):
    assert main(["describe", "torch-magnitude"]) == 0
    out = capsys.readouterr().out
    assert "sparsity" in out and "float" in out and "0.9" in out and "fraction of weights set to zero" in out
    assert main(["describe", "torch-magnitude+tflite-int8"]) == 0
    out = capsys.readouterr().out
    assert "stage 2: tflite-int8" in out and "torch-magnitude.sparsity" in out and "tflite-int8.weight_bits" in out
    assert main(["describe", "torch-magnitud"]) == 2
    assert "did you mean 'torch-magnitude'" in capsys.readouterr().err


def test_describe_reads_a_submitted_file_in_its_sandbox(capsys):
    from suite.submission import sandbox

    if sandbox.unavailable_reason():
        pytest.skip(sandbox.unavailable_reason())
    example = Path(REPO) / "examples" / "submission" / "neuron_prune.py"
    assert main(["describe", f"{example}:NeuronPrune"]) == 0
    out = capsys.readouterr().out
    assert "example-neuron-prune" in out and "keep_ratio" in out and "0.5" in out
    assert "fraction of each hidden layer's neurons that stays" in out


def test_show_into_a_closed_pipe_exits_quietly(tmp_path):
    """`slimbench show ID | head`: the reader goes away; no BrokenPipeError traceback."""
    record = sorted((Path(REPO) / "leaderboard" / "results").glob("*.json"))[0]
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE
    try:
        out = subprocess.run([sys.executable, "-m", "suite.cli", "show", record.stem], cwd=REPO, stdout=write_end,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    finally:
        os.close(write_end)
    assert out.returncode == 0 and "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr
