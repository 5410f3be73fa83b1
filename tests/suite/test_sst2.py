"""The SST-2 text track: dataset card, loader, tokenizer, Transformer model, int64 export, harness runs.

Fast: the data is read once (a few seconds); models here are tiny and trained on a few hundred rows.
The full reference training is `slimbench train-reference --track sst2-transformer` (not run in tests)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from suite.errors import ArtifactFormatError, ChecksumError, SlimBenchError, TestSplitAccessError
from tests.conftest import SHARED_DATA


def _sst2_available() -> bool:
    data = os.environ.get("SLIMBENCH_DATA")
    return bool(data) and (Path(data) / "sst2" / "dev.tsv").exists()


requires_sst2 = pytest.mark.skipif(not _sst2_available(), reason="SST-2 not in $SLIMBENCH_DATA (../shared/datasets)")
TINY = dict(d_model=32, n_layers=1, n_heads=2, d_ff=64, embed_dim=16)


def _tiny(vocab=8000, seq_len=64, dropout=0.0):
    import torch

    from suite.tracks.text_models import transformer_classifier
    torch.manual_seed(0)
    return transformer_classifier(vocab, seq_len, dropout=dropout, **TINY).eval()


def _ids(n=16, seq_len=64, vocab=8000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, seq_len), dtype=np.int64)
    for row in range(n):
        length = int(rng.integers(1, 40))
        x[row, :length] = rng.integers(2, vocab, length)
    return x


# -- card and loader ----------------------------------------------------------------------------
def test_card_checksums_match_the_shared_manifest():
    card = json.loads((Path(__file__).resolve().parents[2] / "datasets" / "sst2.json").read_text())
    manifest_path = SHARED_DATA / "MANIFEST.json"
    if not manifest_path.exists():
        pytest.skip("no ../shared/datasets/MANIFEST.json")
    manifest = {f["path"]: f for f in json.loads(manifest_path.read_text())["files"]}
    for name, spec in card["files"].items():
        entry = manifest[f"sst2/{name}"]
        assert (spec["sha256"], spec["bytes"], spec["md5"]) == (entry["sha256"], entry["size"], entry["md5"])


def test_malformed_tsv_is_a_clear_error(tmp_path):
    from suite.data.sst2 import read_tsv

    bad_header = tmp_path / "a.tsv"
    bad_header.write_text("text\tlabel\nfine .\t1\n")
    with pytest.raises(SlimBenchError, match="GLUE header"):
        read_tsv(bad_header)
    bad_row = tmp_path / "b.tsv"
    bad_row.write_text("sentence\tlabel\nfine .\t1\nno label here\n")
    with pytest.raises(SlimBenchError, match=r"b.tsv:3"):
        read_tsv(bad_row)
    good = tmp_path / "c.tsv"
    good.write_text("sentence\tlabel\nit 's good . \t1\nbad\t0\n")
    sentences, y = read_tsv(good)
    assert sentences == ["it 's good .", "bad"] and y.tolist() == [1, 0] and y.dtype == np.int64


@requires_sst2
def test_splits_are_fixed_int64_ids_and_the_test_split_is_guarded():
    from suite.data.guard import forbid_test_access
    from suite.data.datasets import load_dataset
    from suite.data.sst2 import load_text_splits

    d = load_dataset("sst2")
    assert (len(d.train), len(d.validation), len(d.calibration)) == (65349, 2000, 1000)
    assert d.num_classes == 2
    for split in (d.train, d.validation, d.calibration, d.test):
        assert split.x.dtype == np.int64 and split.x.shape[1] == 64 and split.y.dtype == np.int64
        assert split.x.min() >= 0 and split.x.max() < 8000
        lengths = (split.x != 0).sum(1)
        # right padding: every non-pad id comes before every pad
        assert all((row[:n] != 0).all() and (row[n:] == 0).all() for row, n in zip(split.x[:500], lengths[:500]))
    assert len(d.test) == 872 and int(d.test.y.sum()) == 444  # dev.tsv: 444 positive, 428 negative
    text = load_text_splits()
    calib = set(text["calibration"].sentences)
    assert calib <= set(text["train"].sentences)  # calibration is a subset of train
    with forbid_test_access("a method"), pytest.raises(TestSplitAccessError):
        d.test  # noqa: B018


# -- tokenizer ----------------------------------------------------------------------------------
@requires_sst2
def test_committed_tokenizer_is_rebuilt_byte_for_byte_from_the_train_split_only():
    from suite.data.fetch import sha256_file
    from suite.data.sst2 import build_sst2_tokenizer, load_text_splits, tokenizer_json, tokenizer_path, tokenizer_spec

    path = tokenizer_path()
    assert sha256_file(path) == tokenizer_spec()["sha256"]
    tok = build_sst2_tokenizer()
    assert tokenizer_json(tok) == path.read_text(encoding="utf-8")
    train_words = {w for s in load_text_splits()["train"].sentences for w in s.lower().split()}
    assert set(tok.get_vocab()) - {"[PAD]", "[UNK]"} <= train_words
    assert tok.get_vocab_size() == 8000 and tok.token_to_id("[PAD]") == 0 and tok.token_to_id("[UNK]") == 1


def test_tampered_tokenizer_is_refused(tmp_path):
    from suite.data.sst2 import load_tokenizer, tokenizer_path

    copy = tmp_path / "tok.json"
    copy.write_text(tokenizer_path().read_text(encoding="utf-8").replace('"good"', '"g00d"'), encoding="utf-8")
    with pytest.raises(ChecksumError, match="token ids would differ"):
        load_tokenizer(copy)
    with pytest.raises(SlimBenchError, match="missing"):
        load_tokenizer(tmp_path / "nope.json")


def test_encode_pads_truncates_and_maps_unknown_words():
    from suite.data.sst2 import encode, load_tokenizer

    tok = load_tokenizer()
    ids = encode(tok, ["it 's a charming journey .", "zzqxv " * 70, ""], 64)
    assert ids.shape == (3, 64) and ids.dtype == np.int64
    assert (ids[0, :6] > 1).all() and (ids[0, 6:] == 0).all()
    assert (ids[1] == 1).all()  # unknown word, truncated to 64
    assert (ids[2] == 0).all()


# -- model --------------------------------------------------------------------------------------
def test_padding_is_exactly_masked_and_trimmed():
    import torch

    from suite.tracks.text_models import trim_padding

    model = _tiny()
    x = _ids(8)
    with torch.inference_mode():
        full = model(torch.from_numpy(x))
        one_by_one = torch.cat([model(torch.from_numpy(row[None, :int((row != 0).sum())])) for row in x])
    np.testing.assert_allclose(full.numpy(), one_by_one.numpy(), atol=1e-5)  # pads change nothing
    assert trim_padding(torch.from_numpy(x)).shape[1] == int((x != 0).sum(1).max())
    with pytest.raises(ValueError, match="exceeds"):
        model(torch.zeros((1, 65), dtype=torch.int64))


def test_int64_onnx_and_torchscript_exports_agree_with_torch(tmp_path):
    import torch

    from methods.export import export_torch_model
    from suite.targets import get_target

    model = _tiny()
    x = _ids(20)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    artifacts = export_torch_model(model, (64,), ("onnx", "torchscript"), tmp_path, "tiny", input_dtype="int64")
    for artifact in artifacts:
        assert artifact.input_dtype == "int64" and artifact.input_layout == "flat"
        runner = get_target({"onnx": "cpu", "torchscript": "cpu-torch"}[artifact.format]).load(artifact)
        np.testing.assert_allclose(runner.predict(x), expected, atol=1e-4)
        np.testing.assert_allclose(runner.predict(x[:1]), expected[:1], atol=1e-4)  # dynamic batch


def test_onnx_export_takes_the_dtype_from_the_model_when_not_given(tmp_path):
    import onnx

    from methods.export.onnx_export import export_onnx

    path = export_onnx(_tiny(), (64,), tmp_path / "m.onnx")
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_bucketed_batches_cover_every_row_once_and_are_seeded():
    from suite.tracks.text_training import bucketed_batches

    lengths = np.random.default_rng(0).integers(1, 50, 1000)
    a = bucketed_batches(lengths, 64, 4, np.random.default_rng(3))
    b = bucketed_batches(lengths, 64, 4, np.random.default_rng(3))
    assert all((p == q).all() for p, q in zip(a, b))
    assert sorted(np.concatenate(a).tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[batch]) for batch in a])
    assert spread < np.ptp(lengths) / 2  # similar lengths together


@requires_sst2
def test_tiny_transformer_learns_from_a_small_slice():
    from suite.data.datasets import load_dataset
    from suite.tracks.text_training import TextRecipe, fit_text
    from suite.tracks.training import accuracy_torch

    d = load_dataset("sst2")
    model = _tiny(dropout=0.1)
    x, y = d.train.x[:500], d.train.y[:500]
    before = accuracy_torch(model, x, y)
    fit_text(model, x, y, TextRecipe(epochs=8, lr=3e-3, batch_size=32, seed=0))
    after = accuracy_torch(model, x, y)
    assert after > max(before, 0.75), (before, after)


def test_students_train_with_the_tracks_bucketed_loop_and_a_custom_loss(monkeypatch):
    """Sst2Transformer.fit hands the recipe's epochs/lr/batch/seed to fit_text and adapts a 3-argument loss."""
    import torch.nn.functional as F

    from suite.tracks import get_track
    from suite.tracks import text_training
    from suite.tracks.training import TrainRecipe

    track = get_track("sst2-transformer")
    seen = {}
    real = text_training.fit_text

    def spy(model, x, y, recipe, loss_fn=None, **kw):
        seen["recipe"] = recipe
        return real(model, x, y, recipe, loss_fn=loss_fn, **kw)

    monkeypatch.setattr(text_training, "fit_text", spy)
    rng = np.random.default_rng(0)
    x = rng.integers(2, 50, (96, 64)).astype(np.int64)
    x[:, 10:] = 0
    y = rng.integers(0, 2, 96).astype(np.int64)
    calls = []

    def loss(m, xb, yb):
        calls.append(xb.shape[1])
        return F.cross_entropy(m(xb), yb)

    track.fit(_tiny(), x, y, TrainRecipe(epochs=2, lr=2e-3, batch_size=32, optimizer="adam", seed=5), loss_fn=loss)
    recipe = seen["recipe"]
    assert (recipe.epochs, recipe.lr, recipe.batch_size, recipe.seed) == (2, 2e-3, 32, 5)
    assert recipe.weight_decay == track.text_recipe.weight_decay and recipe.bucket_pool == track.text_recipe.bucket_pool
    assert calls == [10] * 6  # 3 batches x 2 epochs, each trimmed to the rows' 10 tokens
    assert track.training_loop_info()["loop"].startswith("length-bucketed")
    assert "optimizer" in track.training_loop_info()["replaces"]


def test_teacher_logits_of_token_ids_come_back_in_row_order():
    import torch

    from methods.distillation.kd_torch import predict_logits

    rng = np.random.default_rng(1)
    x = rng.integers(2, 50, (700, 64)).astype(np.int64)
    for row, length in enumerate(rng.integers(1, 64, 700)):
        x[row, length:] = 0
    model = _tiny()
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()  # one batch, dataset order
    np.testing.assert_allclose(predict_logits(model, x), expected, rtol=1e-4, atol=1e-5)


# -- the track in the harness ------------------------------------------------------------------
def test_track_declares_what_methods_need():
    from suite.tracks import get_track

    track = get_track("sst2-transformer")
    assert track.input_shape == (64,) and track.input_dtype == "int64" and track.num_classes == 2
    student = track.build_architecture("transformer-2x128")
    reference = track.build_torch()
    encoder = lambda m: sum(p.numel() for n, p in m.named_parameters() if not n.startswith("tok."))  # noqa: E731
    assert encoder(student) < encoder(reference) / 3  # both share the 8000 x 96 vocabulary table
    assert not track.unsupported_targets  # cpu, cpu-torch and edge (via the tf-keras port) all run it


def test_a_track_can_refuse_a_target_with_its_reason(quick_session, monkeypatch):
    from suite.harness import RunSpec
    from suite.suites import matrix
    from suite.tracks import TRACKS

    monkeypatch.setattr(TRACKS.get("sst2-transformer"), "unsupported_targets", {"edge": "no converter for X"})
    with pytest.raises(ArtifactFormatError, match="does not run on target 'edge': no converter for X"):
        quick_session.run(RunSpec("sst2-transformer", "fp32", "edge"))
    assert not quick_session.store.paths()  # refused before anything is written
    specs = matrix(["sst2-transformer", "digits-mlp"], ["fp32"], ["cpu", "edge"])
    assert {(s.track, s.target) for s in specs} == {("sst2-transformer", "cpu"), ("digits-mlp", "cpu"),
                                                    ("digits-mlp", "edge")}


def test_keras_port_and_tflite_run_int64_ids_on_edge(tmp_path):
    import torch

    from methods.export import export_torch_model
    from suite.targets import get_target

    model = _tiny()
    x = _ids(12)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.to_keras()(x).numpy(), expected, atol=1e-5)
    (artifact,) = export_torch_model(model, (64,), ("tflite",), tmp_path, "tiny", input_dtype="int64")
    assert artifact.input_dtype == "int64" and artifact.input_layout == "flat"
    runner = get_target("edge").load(artifact)
    np.testing.assert_allclose(runner.predict(x), expected, atol=1e-4)
    np.testing.assert_allclose(runner.predict(x[:1]), expected[:1], atol=1e-4)


@requires_sst2
@pytest.mark.parametrize("method", ["tflite-dynamic-range", pytest.param("tflite-fp16", marks=pytest.mark.slow)])
def test_weight_only_tflite_quantization_runs_token_ids_on_edge(quick_session, method):
    from suite.harness import RunSpec
    from suite.tracks import get_track

    if not get_track("sst2-transformer").meta_path.exists():
        pytest.skip("no reference checkpoint yet")
    record = quick_session.run(RunSpec("sst2-transformer", method, "edge"))
    assert record["status"] == "ok", record.get("error")
    info = record["results"]["method_info"]
    assert info["input_dtype"] == "int64" and "GATHER" in info["ops"]
    assert "int8" in info["weight_dtypes"] if method == "tflite-dynamic-range" else info["weight_format"] == "float16"
    assert abs(record["results"]["accuracy_delta_pp"]) < 1.0


@requires_sst2
def test_full_integer_tflite_refuses_token_ids_with_the_reason(quick_session):
    from suite.harness import RunSpec
    from suite.tracks import get_track

    if not get_track("sst2-transformer").meta_path.exists():
        pytest.skip("no reference checkpoint yet")
    record = quick_session.run(RunSpec("sst2-transformer", "tflite-int8", "edge"))
    assert record["status"] == "failed"
    assert "float32 inputs" in record["error"]["message"] and "int64" in record["error"]["message"]


@requires_sst2
def test_reference_checkpoint_loads_and_fp32_runs_on_cpu_with_int64_ids(quick_session):
    from suite.harness import RunSpec
    from suite.records.store import validate
    from suite.tracks import get_track

    track = get_track("sst2-transformer")
    if not track.meta_path.exists():
        pytest.skip("no reference checkpoint yet")
    record = quick_session.run(RunSpec("sst2-transformer", "fp32", "cpu"))
    assert record["status"] == "ok", record.get("error")
    validate(record)
    # ONNX Runtime on the exported artifact reproduces the torch reference accuracy of the metadata
    assert abs(record["results"]["accuracy"] - track.reference_accuracy) < 0.005
    assert record["results"]["test_samples"] == 872


def test_train_reference_hands_over_to_the_tracks_own_recipe(monkeypatch, tmp_path):
    from suite.tracks import TRACKS, get_track
    from suite.tracks.reference import train_reference

    monkeypatch.setattr(TRACKS.get("sst2-transformer"), "train_reference",
                        lambda self, out_dir=None: {"trained_into": out_dir})
    assert train_reference(get_track("sst2-transformer"), tmp_path) == {"trained_into": tmp_path}


@requires_sst2
def test_sst2_train_reference_pins_its_threads_and_writes_the_metadata(monkeypatch, tmp_path):
    """The training loop itself is replaced (the real one takes ~9 minutes); everything around it runs: the
    tokenizer rebuild check, the pinned thread count, the checkpoint and its metadata."""
    import torch

    import suite.tracks.text_training as text_training
    from suite.tracks import get_track

    seen = {}

    def fake_fit(model, x, y, recipe, on_epoch=None, progress=False):
        seen["threads"] = torch.get_num_threads()
        on_epoch(1, {"epoch": 1, "train_loss": 0.0, "seconds": 0.0})

    monkeypatch.setattr(text_training, "fit_text", fake_fit)
    threads_before = torch.get_num_threads()
    track = get_track("sst2-transformer")
    meta = track.train_reference(tmp_path)
    assert seen["threads"] == track.train_threads == 1 and torch.get_num_threads() == threads_before
    assert meta["torch_threads"] == 1 and meta["tokenizer_sha256"] == json.loads(track.meta_path.read_text())[
        "tokenizer_sha256"]
    assert meta["history"][-1]["validation_accuracy"] == meta["validation_accuracy"]
    assert meta["architecture"]["seq_len"] == 64 and 0.0 <= meta["reference_accuracy"] <= 1.0
    assert json.loads((tmp_path / "sst2-transformer.json").read_text()) == meta
    assert set(torch.load(tmp_path / "sst2-transformer.pt", weights_only=True)) == set(
        torch.load(track.checkpoint_path, weights_only=True))
