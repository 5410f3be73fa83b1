"""Speed-only tracks (`speed-*`): production architectures at their real input sizes with fixed-seed random
weights. Pretrained weights cannot be downloaded here, but dense kernels take the same time whatever the
weights' values, so these tracks measure latency, throughput, size and memory -- never accuracy.

Inputs are synthetic and fixed-seed, of the distribution the model expects: images are normalised noise
(N(0, 1) per pixel and channel, what ImageNet-normalised pictures look like to the first layer), text is token
ids drawn uniformly from the vocabulary behind a [CLS] id and ending with [SEP]. Calibration (static
quantization) uses a split of the same generator with another seed; the record states both."""
from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from suite.measure.latency import LatencySettings
from suite.tracks import TRACKS
from suite.tracks.base import Budget, Track
from suite.tracks.training import TrainRecipe

ACCURACY_NULL_REASON = "random weights: speed, memory and size only"
WEIGHT_SEED = 0
CALIBRATION_SEED, TEST_SEED = 1, 2
# One offline batch of distinct inputs is all the harness needs (batch-64 throughput re-feeds it).
TEST_SAMPLES = 64


class SpeedTrack(Track):
    kind = "speed"
    dataset = "synthetic"
    # Pruning may run without fine-tuning; methods that need training refuse (Method.needs_training).
    budget = Budget(finetune_epochs=0, calibration_samples=32, wall_time_s=1800, memory_mb=16384, batch_size=32)
    recipe = TrainRecipe(epochs=0, lr=0.0, batch_size=32, seed=WEIGHT_SEED)
    has_keras_port = False  # the edge target's TFLite comes from litert-torch, not the tf-keras port
    num_classes = 1000
    # ResNet-50 at batch 64 takes seconds per call on 2 cores (over ten on the 1-thread edge target): fewer
    # queries than the tiny tracks' defaults, still medians over interleaved ABBA rounds after warm-up. Offline:
    # one batch per runner per round. Adaptive stopping may add single-stream rounds within max_seconds; the
    # minimum offline rounds already take longer than that, so they are not extended (max_factor=1). One runtime
    # session per artifact (subsessions=1): building BERT-base/ResNet-50 sessions takes seconds each, and the
    # published speed records were timed so; their intervals describe that session.
    latency_settings = LatencySettings(warmup=2, min_queries=8, min_seconds=0.5, rounds=4, offline_batch=64,
                                       offline_min_batches=4, offline_min_seconds=0.0, max_seconds=8.0,
                                       max_factor=1.0, subsessions=1)
    synthetic_inputs: ClassVar[str] = ""

    def build_torch(self):
        raise NotImplementedError

    # -- the reference: fixed-seed random weights (no checkpoint file) ----------------------------------
    @cached_property
    def _initialised(self):
        """The fixed-seed model, built once per track object: initialising BERT-base's 110M weights takes
        seconds, and a run needs it twice (the record's weight hash, then the method's reference)."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(WEIGHT_SEED)
            model = self.build_torch()
        return model.eval()

    def reference_torch(self):
        import copy

        return copy.deepcopy(self._initialised)  # methods may prune or quantize it in place

    @cached_property
    def meta(self) -> dict[str, Any]:
        """What the checkpoint json holds for trained tracks: here the sha256 of the initialised weights, so a
        record still names exactly which weights were measured."""
        import torch

        digest = hashlib.sha256()
        for name, tensor in self._initialised.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().contiguous().numpy().tobytes() if tensor.dtype != torch.bfloat16 else b"")
        return {"sha256": digest.hexdigest(), "reference_accuracy": None,
                "weights": f"random initialisation of the definition, torch.manual_seed({WEIGHT_SEED})"}

    @property
    def checkpoint_sha256(self) -> str:
        return self.meta["sha256"]

    # -- data: synthetic, fixed seeds ------------------------------------------------------------------
    def synthetic(self, n: int, seed: int) -> np.ndarray:
        raise NotImplementedError

    def load_splits(self):
        from suite.data.splits import DatasetSplits, Split

        def split(n: int, seed: int) -> Split:
            x = self.synthetic(n, seed) if n else np.zeros((0, *self.input_shape), dtype=self.input_dtype)
            return Split(x, np.zeros(len(x), dtype=np.int64))  # labels are meaningless: no accuracy

        empty = split(0, 0)
        return DatasetSplits(f"synthetic:{self.name}", train=empty, validation=empty,
                             calibration=split(self.budget.calibration_samples, CALIBRATION_SEED),
                             test=split(TEST_SAMPLES, TEST_SEED), file_sha256={}, num_classes=self.num_classes)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kind": self.kind, "synthetic_inputs": self.synthetic_inputs}


class ImageSpeedTrack(SpeedTrack):
    input_shape = (3, 224, 224)
    synthetic_inputs = (f"normalised image noise: N(0, 1) float32 per pixel and channel, 3x224x224; calibration "
                        f"seed {CALIBRATION_SEED}, measurement seed {TEST_SEED}")

    def synthetic(self, n: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal((n, *self.input_shape), dtype=np.float32)


@TRACKS.register
class SpeedResNet50(ImageSpeedTrack):
    name = "speed-resnet50"
    description = "speed only: torchvision ResNet-50 definition (25.6 M params, 4.1 G MACs), 3x224x224, random weights"

    def build_torch(self):
        from suite.tracks.definitions import torchvision_models
        return torchvision_models().resnet50(weights=None)


@TRACKS.register
class SpeedMobileNetV2(ImageSpeedTrack):
    name = "speed-mobilenetv2"
    description = ("speed only: torchvision MobileNetV2 definition (3.5 M params, 0.3 G MACs), 3x224x224, "
                   "random weights")

    def build_torch(self):
        from suite.tracks.definitions import torchvision_models
        return torchvision_models().mobilenet_v2(weights=None)


BERT_SEQ_LEN = 128
BERT_CLS, BERT_SEP, BERT_FIRST_WORDPIECE = 101, 102, 999  # bert-base-uncased vocabulary: ids below 999 are
# [PAD]/[unused]/[CLS]/[SEP]/[MASK] and single characters' slots; word pieces start at 999 ("!").


class _SequenceLogits:
    """nn.Module factory: BertForSequenceClassification fed token ids only, returning the logits tensor (ONNX,
    TorchScript and litert-torch want one tensor in, one out; attention mask = all ones, as for a full 128-token
    sequence)."""

    @staticmethod
    def build(config):
        import torch

        from suite.tracks.definitions import transformers_module
        transformers = transformers_module()

        class BertLogits(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = transformers.BertForSequenceClassification(config)

            def forward(self, input_ids):
                return self.bert(input_ids=input_ids).logits

        return BertLogits()


@TRACKS.register
class SpeedBertBase(SpeedTrack):
    name = "speed-bert-base"
    description = ("speed only: Hugging Face BertForSequenceClassification built from a config (12 layers, d=768, "
                   "12 heads, 2 labels; 109.5 M params), sequence length 128, random weights")
    input_shape = (BERT_SEQ_LEN,)
    input_dtype = "int64"
    num_classes = 2
    # fp32 BERT-base at batch 64 x 128 tokens is ~1.4 TFLOP (~30 s on the 1-thread edge target): two rounds of
    # one batch per runner, so its offline intervals are wide (2 rounds) -- the record shows them.
    latency_settings = LatencySettings(warmup=2, min_queries=8, min_seconds=0.5, rounds=2, offline_batch=64,
                                       offline_min_batches=2, offline_min_seconds=0.0, max_seconds=8.0,
                                       max_factor=1.0, subsessions=1)
    synthetic_inputs = (f"token ids: [CLS]={BERT_CLS}, then {BERT_SEQ_LEN - 2} ids uniform in "
                        f"[{BERT_FIRST_WORDPIECE}, 30522) (bert-base-uncased word pieces), then [SEP]={BERT_SEP}; "
                        f"int64, no padding; calibration seed {CALIBRATION_SEED}, measurement seed {TEST_SEED}")

    def bert_config(self):
        from suite.tracks.definitions import transformers_module
        # BertConfig's defaults are bert-base: 12 layers, hidden 768, 12 heads, intermediate 3072, vocab 30522.
        # Eager attention: plain matmul/softmax ops that ONNX, TorchScript and litert-torch all export.
        return transformers_module().BertConfig(num_labels=2, attn_implementation="eager")

    def build_torch(self):
        return _SequenceLogits.build(self.bert_config())

    def synthetic(self, n: int, seed: int) -> np.ndarray:
        vocab = 30522
        ids = np.random.default_rng(seed).integers(BERT_FIRST_WORDPIECE, vocab, size=(n, BERT_SEQ_LEN),
                                                   dtype=np.int64)
        ids[:, 0], ids[:, -1] = BERT_CLS, BERT_SEP
        return ids
