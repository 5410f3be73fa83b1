"""The `slimbench` command line as a user meets it."""
import json
import os
import subprocess
import sys
import time

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
