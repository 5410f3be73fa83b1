"""Named suites: lists of RunSpecs, run by `slimbench run --suite NAME`."""
from __future__ import annotations

from typing import Callable

from suite.harness import RunSpec
from suite.registry import Registry

SUITES: Registry[Callable[[], list[RunSpec]]] = Registry("suite")  # name -> fn() -> [RunSpec]


def register_suite(name: str, description: str):
    def deco(fn):
        fn.description = description
        return SUITES.register(fn, name)
    return deco


def matrix(tracks: list[str], methods: list[str], targets: list[str], seed: int = 0) -> list[RunSpec]:
    """Every (track, method, target) whose artifact formats meet; incompatible pairs are left out."""
    from methods import METHODS
    from suite.targets import TARGETS
    from suite.tracks import TRACKS

    specs = []
    for track in tracks:
        unsupported = TRACKS.get(track).unsupported_targets  # e.g. a text track on edge: left out, reason in the track
        for method in methods:
            formats = set(METHODS.get(method).formats)
            for target in targets:
                if formats & set(TARGETS.get(target).formats) and target not in unsupported:
                    specs.append(RunSpec(track, method, target, seed))
    return specs


def family_methods(family: str) -> list[str]:
    from methods import METHODS
    return [m.name for m in METHODS if m.family == family]


@register_suite("default", "digits, MNIST and Fashion-MNIST tracks, fp32 and the default methods, on cpu and edge")
def default_suite() -> list[RunSpec]:
    from methods import METHODS
    methods = [m.name for m in METHODS if m.in_default_suite]
    methods.sort(key=lambda n: n != "fp32")  # baselines first
    from suite.rules import DEFAULT_SUITE_TARGETS, DEFAULT_SUITE_TRACKS
    return matrix(list(DEFAULT_SUITE_TRACKS), methods, list(DEFAULT_SUITE_TARGETS))


@register_suite("vision", "every quantization and pruning method on cifar10-resnet8 (compute-bound), every target "
                          "that runs it")
def vision_suite() -> list[RunSpec]:
    return matrix(["cifar10-resnet8"], ["fp32"] + family_methods("quantization") + family_methods("pruning"),
                  ["cpu", "edge", "cpu-torch"])


SPEED_TRACKS = ["speed-mobilenetv2", "speed-resnet50", "speed-bert-base"]
# The training-free methods (issue 14): methods that train refuse speed tracks (suite.harness.training_refusal).
SPEED_METHODS = ["fp32", "ort-int8-dynamic", "ort-int8-static", "torch-int8-static", "torch-int8-dynamic",
                 "tflite-int8", "tflite-dynamic-range", "tflite-fp16", "torch-channel"]


@register_suite("speed", "speed only (random weights, no accuracy): ResNet-50, MobileNetV2 and BERT-base at real "
                         "input sizes, the training-free methods on cpu, cpu-torch and edge")
def speed_suite() -> list[RunSpec]:
    # Cheapest (track, target) pairs first, the 1-thread edge runs of the big models (litert-torch conversions,
    # seconds per call) last: on 2 cores the whole matrix takes hours, and an interrupted suite then holds every
    # figure but the slowest ones (resuming skips what is recorded).
    targets = ["cpu", "cpu-torch", "edge"]
    order = [(track, target) for track in SPEED_TRACKS for target in targets if target != "edge" or track == SPEED_TRACKS[0]]
    order += [(track, "edge") for track in SPEED_TRACKS[1:]]
    specs = matrix(SPEED_TRACKS, SPEED_METHODS, targets)
    return sorted(specs, key=lambda s: (order.index((s.track, s.target)), SPEED_METHODS.index(s.method)))


@register_suite("smoke", "digits-mlp only, fp32 on cpu and edge (seconds)")
def smoke_suite() -> list[RunSpec]:
    return matrix(["digits-mlp"], ["fp32"], ["cpu", "edge"])


@register_suite("quantization", "every quantization method on the MNIST tracks, on every target that runs it")
def quantization_suite() -> list[RunSpec]:
    return matrix(["mnist-lenet300", "mnist-lenet5"], ["fp32"] + family_methods("quantization"),
                  ["cpu", "edge", "cpu-torch"])


@register_suite("pruning", "every pruning method on the MNIST tracks")
def pruning_suite() -> list[RunSpec]:
    return matrix(["mnist-lenet300", "mnist-lenet5"], ["fp32"] + family_methods("pruning"), ["cpu", "edge"])


@register_suite("distillation", "every distillation method on the MNIST tracks")
def distillation_suite() -> list[RunSpec]:
    return matrix(["mnist-lenet300", "mnist-lenet5"], ["fp32"] + family_methods("distillation"), ["cpu", "edge"])


def get_suite(name: str) -> list[RunSpec]:
    return SUITES.get(name)()  # an unknown name lists the suites (and the close ones)
