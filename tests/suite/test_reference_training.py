"""`train-reference` with the track's fixed-seed recipe: digits-mlp trains in seconds, so it is retrained here."""
import json

import pytest

from suite.tracks import get_track


def test_digits_reference_retrains_with_its_recipe_and_records_it(tmp_path):
    import torch

    from suite.tracks.reference import train_reference

    track = get_track("digits-mlp")
    committed = json.loads(track.meta_path.read_text())
    threads_before = torch.get_num_threads()
    meta = train_reference(track, tmp_path)
    assert torch.get_num_threads() == threads_before  # the pinned thread count is restored
    assert meta["torch_threads"] == track.train_threads == committed["torch_threads"]
    assert json.loads((tmp_path / "digits-mlp.json").read_text()) == meta
    state = torch.load(tmp_path / "digits-mlp.pt", weights_only=True)
    assert set(state) == set(torch.load(track.checkpoint_path, weights_only=True))
    # Bit-identical to the committed checkpoint on the machine that trained it (x86 AVX2, same thread count);
    # other CPUs may differ in the last bits, so the portable check is the accuracy.
    assert meta["reference_accuracy"] == pytest.approx(committed["reference_accuracy"], abs=0.015)
    assert meta["recipe"] == committed["recipe"] and meta["dataset_sha256"] == committed["dataset_sha256"]
