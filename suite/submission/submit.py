"""`slimbench submit METHOD`: run the closed-division matrix and write a submission bundle.

Closed division: the track's fixed reference model, data splits and budget, the method's default
config (or --param values, recorded), seed 0 by default, every requested target that runs one of the
method's formats. Runs happen in a session whose store is the bundle's own records/ directory, so
the submitter's local store is never touched; submitted code runs isolated (suite.submission.isolation)."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import SlimBenchError
from suite.rules import SUBMIT_TARGETS as DEFAULT_TARGETS
from suite.rules import SUBMIT_TRACKS as DEFAULT_TRACKS


@dataclass
class SubmitResult:
    bundle: Path
    records: list[dict]
    skipped: list[str] = field(default_factory=list)


def available_tracks(names) -> tuple[list[str], list[str]]:
    """Tracks whose data is here (MNIST may be missing offline); (usable, skipped-with-reason)."""
    from suite.tracks import get_track

    usable, skipped = [], []
    for name in names:
        track = get_track(name)
        try:
            track.load_splits()
            track.meta  # noqa: B018 - the reference checkpoint must exist
            usable.append(name)
        except SlimBenchError as exc:
            skipped.append(f"track {name}: {exc}")
    return usable, skipped


def stage_source(stage, label: str | None = None) -> tuple[str, bytes, dict]:
    """(file name, bytes, manifest entry) of one submitted stage's source: the file, or for an entry point the
    module file its class lives in (read from the installed metadata, never imported)."""
    from suite.methodspec import FILE, find_entry_point

    if stage.kind == FILE:
        return stage.path.name, stage.path.read_bytes(), {"spec": label or stage.label, "class": stage.class_name,
                                                          "entry_point": None}
    path = stage.source_file()
    ep = find_entry_point(stage.text)
    if path is None or ep is None:
        raise SlimBenchError(f"{stage.text!r} is neither a method file (path/to/file.py:Class) nor an installed "
                             "entry point; built-in methods are not submitted")
    dist = getattr(ep, "dist", None)
    return path.name, path.read_bytes(), {
        "spec": label or stage.text, "class": ep.value, "entry_point": ep.name,
        "distribution": {"name": dist.metadata["Name"], "version": dist.version} if dist else None}


def method_sources(spec: str) -> tuple[dict, list[tuple[str, bytes, dict]]]:
    """(manifest method entry, [(file name, bytes, stage entry)]) of a submitted method or of a chain's submitted
    stages (a chain's entry lists them under "stages", each with its 1-based position)."""
    from suite.methodspec import MethodSpec

    parsed = MethodSpec.parse(spec)
    if not parsed.is_chain:
        name, data, entry = stage_source(parsed.single, parsed.label)
        return entry, [(name, data, entry)]
    sources = []
    for i, stage in enumerate(parsed.stages):
        if stage.submitted:
            name, data, entry = stage_source(stage)
            sources.append((name, data, {"stage": i + 1, **entry}))
    return {"spec": parsed.label, "stages": [entry for _, _, entry in sources]}, sources


def submit(spec: str, out: Path, tracks=None, targets=None, seed: int = 0, params: dict | None = None,
           settings=None, isolation=None, measure_memory: bool = True, progress=None) -> SubmitResult:
    from suite.harness import RunSpec, Session
    from suite.methodspec import ENTRY_POINT_GROUP
    from suite.submission.bundle import write_bundle
    from suite.submission.launcher import isolated
    from suite.submission.proxy import is_submitted, submitted_method_class
    from suite.targets import TARGETS

    if not is_submitted(spec):
        raise SlimBenchError(f"{spec!r} is not a submitted method: give path/to/file.py:ClassName, the name of "
                             f"an installed entry point (group {ENTRY_POINT_GROUP}), or a chain with such a stage")
    method_cls = submitted_method_class(spec, params)
    if getattr(method_cls, "describe_error", None) is not None:
        raise method_cls.describe_error
    method_cls.from_params(params)  # an unknown or ill-typed parameter is refused here, before any run
    method_entry, sources = method_sources(spec)
    out = Path(out)
    if out.exists():
        raise SlimBenchError(f"{out} already exists; choose another --out (bundles are never overwritten)")
    explicit_tracks = tracks is not None
    tracks, skipped = (list(tracks), []) if explicit_tracks else available_tracks(DEFAULT_TRACKS)
    targets = list(targets or DEFAULT_TARGETS)
    runnable = []
    for name in targets:
        target = TARGETS.get(name)()
        reason = target.unavailable_reason()
        if reason:
            skipped.append(f"target {name}: {reason}")
        elif not set(method_cls.formats) & set(target.formats):
            skipped.append(f"target {name}: runs {', '.join(target.formats)}; the method produces "
                           f"{', '.join(method_cls.formats)}")
        else:
            runnable.append(name)
    if not tracks or not runnable:
        raise SlimBenchError("nothing to run: " + ("; ".join(skipped) or "no tracks or targets"))

    work = Path(tempfile.mkdtemp(prefix="slimbench-submit-"))
    try:
        session = Session(work / "records", settings=settings, workdir=work / "work",
                          measure_memory=measure_memory, applier=isolated(isolation))
        records = []
        for track in tracks:
            # one application (training) per track; every target's format is exported from it (issue 19)
            run_spec = RunSpec(track, spec, ",".join(runnable), seed, dict(params or {}))
            if progress:
                progress(run_spec)
            records.extend(session.run_targets(run_spec, runnable))
        bundle = write_bundle(out, records, method_entry, sources, tracks, runnable, seed)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SubmitResult(bundle, records, skipped)
