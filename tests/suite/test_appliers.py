"""suite/appliers.py: a Session applies methods in-process unless its caller gives it the isolated applier;
one make_context for harness, worker and tests; the harness does not import suite.submission."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from suite.harness import RunSpec, Session
from suite.measure.latency import QUICK

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "submission" / "neuron_prune.py"


def test_an_in_process_session_refuses_submitted_code_before_recording(tmp_path):
    from suite.appliers import SubmittedCodeRefused

    session = Session(tmp_path / "store", settings=QUICK, workdir=tmp_path / "work", measure_memory=False)
    with pytest.raises(SubmittedCodeRefused, match="runs only isolated"):
        session.run(RunSpec("digits-mlp", f"{EXAMPLE}:NeuronPrune", "cpu"))
    with pytest.raises(SubmittedCodeRefused):
        session.run(RunSpec("digits-mlp", f"torch-magnitude+{EXAMPLE}:NeuronPrune", "cpu"))
    assert not list((tmp_path / "store").glob("*.json"))


def test_the_isolated_applier_describes_submitted_code_and_leaves_builtins_in_process(tmp_path):
    from suite.submission.launcher import isolated
    from suite.submission.proxy import IsolatedMethod
    from suite.submission.sandbox import unavailable_reason

    applier = isolated()
    cls = applier.method_class(RunSpec("digits-mlp", "fp32", "cpu"))
    assert not issubclass(cls, IsolatedMethod)
    if unavailable_reason():
        pytest.skip(unavailable_reason())
    cls = applier.method_class(RunSpec("digits-mlp", f"{EXAMPLE}:NeuronPrune", "cpu"))
    assert issubclass(cls, IsolatedMethod) and cls.name == "example-neuron-prune"


def test_make_context_cuts_calibration_to_the_budget(tmp_path):
    from suite.context import make_context
    from suite.tracks import get_track

    track = get_track("digits-mlp")
    splits = track.load_splits()
    ctx = make_context(track, splits, 3, tmp_path / "w", ("onnx",))
    assert len(ctx.calibration) == min(track.budget.calibration_samples, len(splits.calibration))
    assert ctx.seed == 3 and ctx.formats == ("onnx",) and ctx.workdir.is_dir()
    assert ctx.tflite_converter == ("keras-port" if track.has_keras_port else "litert-torch")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_harness_imports_nothing_from_submission():
    for module in ("suite/harness.py", "suite/appliers.py", "suite/context.py"):
        assert not [m for m in _imports(ROOT / module) if m.startswith("suite.submission")], module
    assert "\"isolated\"" not in (ROOT / "suite" / "harness.py").read_text()  # no getattr(..., "isolated") branch


def test_no_import_circles_between_chain_and_resolve_or_splits_and_loaders():
    assert "methods.resolve" not in _imports(ROOT / "methods" / "chain.py")
    splits = _imports(ROOT / "suite" / "data" / "splits.py")
    assert not {"suite.data.digits", "suite.data.mnist", "suite.data.sst2", "suite.data.cifar10", "suite.data"} & splits
    for loader in ("digits", "mnist", "sst2", "cifar10"):
        assert "suite.data.splits" in _imports(ROOT / "suite" / "data" / f"{loader}.py")  # they register there


def test_the_leaderboard_does_not_import_methods():
    """The board shows a record from the record alone. (readme_table, the README generator, asks the methods for
    their current defaults to print only the non-default parameters.)"""
    for path in (ROOT / "leaderboard").glob("*.py"):
        if path.name == "readme_table.py":
            continue
        assert not [m for m in _imports(path) if m == "methods" or m.startswith("methods.")], path.name


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in ("suite", "methods", "leaderboard"):
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _top_level_imports(path: Path, mods: dict) -> set[str]:
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                    for a in node.names} & set(mods)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names} & set(mods)
    return out


def test_module_level_imports_have_no_cycles():
    mods = _modules()
    graph = {name: _top_level_imports(path, mods) - {name} for name, path in mods.items()}
    state: dict[str, int] = {}

    def visit(name, trail):
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, trail + [dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_lower_layers_import_nothing_above_them():
    """methods/ and the harness's own modules never import the submission layer, the CLI or the board."""
    mods = _modules()
    higher = ("suite.submission", "suite.commands", "suite.cli", "leaderboard", "suite.executors")
    lower = [n for n in mods if n.startswith("methods") or n in (
        "suite.harness", "suite.appliers", "suite.context", "suite.methodspec", "suite.registry", "suite.finite")]
    for name in lower:
        bad = [m for m in _imports(mods[name]) if m.startswith(higher)]
        assert not bad, f"{name} imports {bad}"
