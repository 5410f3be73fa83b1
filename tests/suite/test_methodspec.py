"""suite/methodspec.py: what `--method` accepts is parsed once; suite/registry.py resolves files and names."""
from __future__ import annotations

from pathlib import Path

import pytest

from suite.errors import ConfigError, SlimBenchError, UnknownNameError
from suite.methodspec import BUILTIN, ENTRY_POINT, FILE, MethodSpec, method_label

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "submission" / "neuron_prune.py"


def test_stages_and_kinds():
    spec = MethodSpec.parse("torch-magnitude + /tmp/x/cluster.py:KMeans+tflite-int8", entry_names={"me/ep"})
    assert [s.kind for s in spec.stages] == [BUILTIN, FILE, BUILTIN]
    assert spec.is_chain and spec.submitted
    assert spec.stages[1].path == Path("/tmp/x/cluster.py") and spec.stages[1].class_name == "KMeans"
    assert spec.text == "torch-magnitude+/tmp/x/cluster.py:KMeans+tflite-int8"
    assert spec.label == "torch-magnitude+cluster.py:KMeans+tflite-int8"  # never a directory
    ep = MethodSpec.parse("me/ep", entry_names={"me/ep"})
    assert ep.single.kind == ENTRY_POINT and ep.submitted and not ep.is_chain
    assert not MethodSpec.parse("fp32", entry_names=set()).submitted


@pytest.mark.parametrize("text", ["", "a+", "+b", "a++b", "x.py:"])
def test_malformed_specs_are_refused(text):
    with pytest.raises(ConfigError):
        MethodSpec.parse(text, entry_names=set())


def test_with_path_moves_a_file_stage():
    spec = MethodSpec.parse("/a/b/m.py:M+fp32", entry_names=set())
    moved = spec.with_stages([spec.stages[0].with_path("/sandbox/method/m.py"), spec.stages[1]])
    assert moved.text == "/sandbox/method/m.py:M+fp32" and moved.label == spec.label


def test_route_params_by_name_text_position_and_field():
    spec = MethodSpec.parse("/s/cluster.py:Cluster+tflite-int8", entry_names=set())
    fields = [["clusters", "epochs"], ["calibration"]]
    names = ["weight-cluster", "tflite-int8"]
    routed = spec.route_params({"weight-cluster.clusters": "16", "/s/cluster.py:Cluster.epochs": "2",
                                "2.calibration": "minmax"}, fields, names)
    assert routed == [{"clusters": "16", "epochs": "2"}, {"calibration": "minmax"}]
    assert spec.route_params({"clusters": "8"}, fields, names) == [{"clusters": "8"}, {}]
    with pytest.raises(ConfigError, match="valid: weight-cluster.clusters, weight-cluster.epochs, "
                                          "tflite-int8.calibration"):
        spec.route_params({"clusterz": "8"}, fields, names)
    assert spec.prefixes(names) == names and spec.prefixes(["a", "a"]) == ["1", "2"]


def test_method_label_tolerates_anything():
    assert method_label("/x/y/my_method.py:Pruner") == "my_method.py:Pruner"
    assert method_label("a+") == "a+"


def test_registry_suggests_close_names_and_checks_the_base_class(tmp_path):
    from methods import METHODS

    with pytest.raises(UnknownNameError, match="did you mean 'torch-magnitude'"):
        METHODS.get("torch-magnitud")
    source = tmp_path / "m.py"
    source.write_text("class NotAMethod:\n    name = 'x'\n\nclass Other:\n    pass\n")
    with pytest.raises(SlimBenchError, match="not a Method subclass"):
        METHODS.load_file(source, "NotAMethod")
    with pytest.raises(SlimBenchError, match="did you mean NotAMethod"):
        METHODS.load_file(source, "NotAMethd")
    cls = METHODS.load_file(EXAMPLE, "NeuronPrune")
    assert len(cls.source_sha256) == 64 and cls.name


def test_file_stages_resolve_through_the_registry():
    from methods.chain import ChainMethod
    from methods.resolve import resolve_method

    chain = resolve_method(f"{EXAMPLE}:NeuronPrune+fp32", {"keep_ratio": "0.5"})
    assert isinstance(chain, ChainMethod)
    # keys use the method's name, never the file's path
    assert chain.params()["example-neuron-prune.keep_ratio"] == 0.5 and chain.specs == ["example-neuron-prune", "fp32"]
    assert all(str(EXAMPLE.parent) not in k for k in chain.params())


def test_the_entry_point_group_is_spelled_once():
    root = Path(__file__).resolve().parents[2]
    hits = [p for d in ("suite", "methods", "leaderboard") for p in (root / d).rglob("*.py")
            if '"slimbench.methods"' in p.read_text()]
    assert [p.relative_to(root).as_posix() for p in hits] == ["suite/methodspec.py"]


def test_suites_and_papers_are_registries():
    from suite.errors import UnknownNameError
    from suite.registry import Registry
    from suite.reproduce.papers import PAPERS, get_runner, paper_names
    from suite.suites import SUITES, get_suite

    assert isinstance(SUITES, Registry) and isinstance(PAPERS, Registry)
    assert "default" in SUITES.names() and SUITES.get("default").description
    with pytest.raises(UnknownNameError, match="did you mean 'default'"):
        get_suite("defualt")
    assert callable(get_runner(paper_names()[0]))
    with pytest.raises(ValueError, match="registered twice"):
        PAPERS.register(lambda card, ctx: None, paper_names()[0])


def _install_fake_entry_points(tmp_path, monkeypatch, body: str, eps: dict[str, str]):
    """A distribution on sys.path declaring `eps` in the entry-point group (metadata only, like pip leaves it)."""
    import importlib

    from suite.methodspec import ENTRY_POINT_GROUP

    site = tmp_path / "site"
    (site / "fake_methods").mkdir(parents=True)
    (site / "fake_methods" / "__init__.py").write_text(body)
    info = site / "fake_methods-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-methods\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()))
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    return site / "fake_methods" / "__init__.py"


def test_entry_points_are_read_from_metadata_and_checked_by_the_registry(tmp_path, monkeypatch):
    import hashlib

    from methods.base import Method
    from suite.registry import Registry

    source = _install_fake_entry_points(tmp_path, monkeypatch, (
        "from methods.base import Method\n"
        "class Good(Method):\n    name, family, framework, description, formats = "
        "'me/good', 'pruning', 'torch', 'x', ('onnx',)\n"
        "class NotAMethod:\n    name = 'me/bad'\n"), {"me/good": "fake_methods:Good", "me/bad": "fake_methods:NotAMethod"})
    stage = MethodSpec.parse("me/good+fp32").stages[0]
    assert stage.kind == ENTRY_POINT and stage.submitted
    assert stage.source_file() == source  # found from the metadata, not imported
    assert stage.source_sha256() == hashlib.sha256(source.read_bytes()).hexdigest()
    from suite.methodspec import ENTRY_POINT_GROUP

    registry = Registry("method", base=Method, entry_point_group=ENTRY_POINT_GROUP)
    with pytest.warns(UserWarning, match="me/bad.*not a Method subclass"):
        registry.load_entry_points()
    assert registry.names() == ["me/good"]
