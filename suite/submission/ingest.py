"""`slimbench ingest BUNDLE`: validate everything first, then add the records (all or nothing).

Checks: the manifest (kind, version), the sha256 of every file (and no unlisted file), the method
source's sha256 against the manifest and against every record's config.method_source_sha256, each
record against the schema and its content-hash id, and the closed-division rules: kind "run",
status ok, the method spec and track the manifest names, the reference checkpoint this checkout
uses, the fp32 accuracy of the same session close to the track's reference, the accuracy gate
(accuracy >= 99% of fp32 on the same track and target), and the load around the timing (records timed
while other processes took over suite.measure.load.HIGH_LOAD_SHARE of the CPUs are refused unless
forced). Hashes prove the bundle is intact and
self-consistent, not that its numbers are true: anyone can re-check those with `slimbench reproduce`.

A bundle's records carry only what a submitter can legitimately produce: no `verdict` (a reproduction is
trusted only from a verdict record `reproduce` wrote into this store), kind "run" only, no creation date
in the future, no built-in method's name (an entry point is namespaced, `owner/name`), no NaN/infinity,
each record under the store's size cap."""
from __future__ import annotations

import calendar
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import RecordError, SlimBenchError, UnknownNameError
from suite.rules import FP32_REFERENCE_TOLERANCE_PP, MIN_RELATIVE_ACCURACY, passes_accuracy_gate
from suite.submission.bundle import MANIFEST, Bundle, BundleError, load_bundle, sha256_bytes

ALLOWED_FIELDS = {"schema_version", "id", "kind", "status", "created_utc", "config", "results", "artifact",
                  "provenance", "error", "submitter", "over_budget"}   # what a submitter may set; anything else is refused
CLOCK_SKEW_S = 600                  # created_utc may be this far ahead of this machine's clock
NAMESPACED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a finite number (NaN and infinity are refused)")


def builtin_method_names() -> set[str]:
    from methods import METHODS
    return set(METHODS.names())


def check_method_name(spec, stage_entries: list[dict] | None = None) -> list[str]:
    """A submitted method may not take a built-in's name; an entry point is namespaced `owner/name`. In a chain,
    the stages the bundle holds a source for are checked so; every other stage must be a built-in."""
    from suite.methodspec import FILE, MethodSpec

    if not isinstance(spec, str) or not spec:
        return [f"method spec {spec!r} is not a name"]
    try:
        parsed = MethodSpec.parse(spec, entry_names=frozenset())  # the syntax only; nothing is looked up
    except SlimBenchError as exc:
        return [f"method spec {spec!r}: {exc}"]
    builtins = builtin_method_names()

    def submitted_problem(stage) -> str | None:
        if stage.text in builtins:
            return (f"method {stage.text!r} takes the name of a built-in method; a submitted method is named "
                    "`owner/name` (an entry point) or `path/to/file.py:Class`")
        if stage.kind != FILE and not NAMESPACED.match(stage.text):
            return f"method {stage.text!r} is not namespaced: name a submitted entry point `owner/name`"
        return None

    if not parsed.is_chain:
        problem = submitted_problem(parsed.single)
        return [problem] if problem else []
    held = {e.get("stage") for e in stage_entries or []}
    problems = []
    if not held:
        problems.append(f"chain {spec!r}: the bundle holds no submitted stage's source")
    for i, stage in enumerate(parsed.stages):
        if i + 1 in held:
            problem = submitted_problem(stage)
        elif stage.kind == FILE or stage.text not in builtins:
            problem = f"chain stage {i + 1} {stage.text!r} is neither a built-in method nor a source in this bundle"
        else:
            problem = None
        if problem:
            problems.append(problem)
    return problems


@dataclass
class IngestPlan:
    bundle: Bundle
    records: list[dict] = field(default_factory=list)
    source_name: str = ""             # the (first) submitted source
    source: bytes = b""
    sources: list = field(default_factory=list)   # (file name, bytes) of every submitted source (a chain: each stage)


def validate_bundle(bundle: Bundle, min_relative_accuracy: float = MIN_RELATIVE_ACCURACY,
                    force: bool = False) -> IngestPlan:
    """Every problem found, in one BundleError; nothing is written here."""
    from suite.records.store import validate

    manifest = bundle.manifest
    problems: list[str] = []
    if not (isinstance(min_relative_accuracy, (int, float)) and math.isfinite(min_relative_accuracy)
            and 0 <= min_relative_accuracy <= 1):
        raise BundleError(f"the accuracy gate {min_relative_accuracy!r} is not a finite fraction in [0, 1]")
    listed = manifest.get("files") or {}
    for name, digest in sorted(listed.items()):
        if name not in bundle.files:
            problems.append(f"{name}: listed in the manifest but missing")
        elif sha256_bytes(bundle.files[name]) != digest:
            problems.append(f"{name}: sha256 {sha256_bytes(bundle.files[name])[:16]}… does not match the manifest "
                            f"({str(digest)[:16]}…): the file was changed after the bundle was written")
    for name in sorted(set(bundle.files) - set(listed) - {MANIFEST}):
        problems.append(f"{name}: not listed in the manifest")

    method = manifest.get("method") or {}
    spec, source_sha = method.get("spec"), method.get("sha256")
    plan = IngestPlan(bundle)
    stage_shas: dict | None = None  # a chain: stage position -> source sha256
    try:
        entries = bundle.stage_entries()
        problems += [f"{MANIFEST}: {p}" for p in check_method_name(spec, entries if "stages" in method else None)]
        for entry in entries:
            name, data = bundle.source_of(entry)
            if sha256_bytes(data) != entry.get("sha256"):
                problems.append(f"{name}: sha256 {sha256_bytes(data)} is not the method sha256 in the manifest "
                                f"({entry.get('sha256')})")
            plan.sources.append((re.sub(r"^stage\d+_", "", Path(name).name), data))  # the file's own name
        if plan.sources:
            plan.source_name, plan.source = plan.sources[0]
        if "stages" in method:
            stage_shas = {e.get("stage"): e.get("sha256") for e in entries}
    except BundleError as exc:
        problems.append(str(exc))

    record_files = bundle.record_files()
    expected = {f"records/{rid}.json" for rid in manifest.get("records") or []}
    for name in sorted(expected - set(record_files)):
        problems.append(f"{name}: listed in the manifest's records but missing")
    for name in sorted(set(record_files) - expected):
        problems.append(f"{name}: not in the manifest's record list")
    if not record_files:
        problems.append("the bundle holds no records")
    for name, data in sorted(record_files.items()):
        where = f"{name}"
        from suite.records.store import MAX_RECORD_BYTES
        if len(data) > MAX_RECORD_BYTES:
            problems.append(f"{where}: {len(data)} bytes, over the {MAX_RECORD_BYTES}-byte cap on a record")
            continue
        try:
            record = json.loads(data, parse_constant=_refuse_constant)
            if not isinstance(record, dict):
                raise RecordError(f"{where}: not a JSON object")
            validate(record, where)
        except (UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{where}: not valid JSON ({exc})")
            continue
        except RecordError as exc:
            problems.append(str(exc))
            continue
        problems += check_record_rules(record, where, spec, source_sha, manifest, min_relative_accuracy, force,
                                       stage_shas)
        plan.records.append(record)
    if problems:
        raise BundleError(f"bundle {bundle.origin} refused ({len(problems)} problem(s); nothing was added):\n  - "
                          + "\n  - ".join(problems))
    return plan


def check_record_rules(record: dict, where: str, spec: str | None, source_sha: str | None, manifest: dict,
                       min_relative_accuracy: float, force: bool = False,
                       stage_shas: dict | None = None) -> list[str]:
    from suite.measure.load import load_refusal

    problems = []
    cfg, res = record["config"], record.get("results") or {}
    extra = sorted(set(record) - ALLOWED_FIELDS)
    if extra:
        problems.append(f"{where}: carries {', '.join(extra)}, which a submission may not set (a verdict comes only "
                        "from `slimbench reproduce` in the store that ingests the bundle)")
    try:
        created = calendar.timegm(time.strptime(record["created_utc"], "%Y-%m-%dT%H:%M:%SZ"))
        if created > time.time() + CLOCK_SKEW_S:
            problems.append(f"{where}: created_utc {record['created_utc']} is in the future")
    except (ValueError, OverflowError):
        problems.append(f"{where}: created_utc {record.get('created_utc')!r} is not a date")
    if Path(where).stem != record["id"]:
        problems.append(f"{where}: file name does not match the record id {record['id']}")
    if record["kind"] != "run":
        problems.append(f"{where}: kind {record['kind']!r}; a submission holds run records only")
    if record["status"] != "ok":
        err = record.get("error") or {}
        problems.append(f"{where}: the run failed ({err.get('phase')}: {err.get('type')}: "
                        f"{str(err.get('message'))[:200]}); fix the method and submit again")
        return problems
    if cfg.get("method") != spec:
        problems.append(f"{where}: method {cfg.get('method')!r} is not the submitted method {spec!r}")
    if stage_shas is not None:  # a chain: each submitted stage's source, by position
        recorded = {e.get("stage"): e.get("source_sha256") for e in cfg.get("method_stages") or []
                    if isinstance(e, dict) and e.get("source_sha256")}
        if recorded != stage_shas:
            problems.append(f"{where}: config.method_stages' source sha256s {recorded} do not match the bundle's "
                            f"stage sources ({stage_shas})")
    elif cfg.get("method_source_sha256") != source_sha:
        problems.append(f"{where}: config.method_source_sha256 {cfg.get('method_source_sha256')} does not match "
                        f"the bundle's method source ({source_sha})")
    if cfg.get("track") not in (manifest.get("tracks") or []):
        problems.append(f"{where}: track {cfg.get('track')!r} is not among the manifest's tracks")
    try:
        from suite.tracks import get_track
        track = get_track(cfg["track"])
        checkpoint = (record.get("provenance") or {}).get("checkpoint_sha256")
        if checkpoint != track.checkpoint_sha256:
            problems.append(f"{where}: measured against reference checkpoint {checkpoint}, not this track's "
                            f"{track.checkpoint_sha256}")
        fp32 = res.get("accuracy_fp32")
        if fp32 is None or abs(fp32 - track.reference_accuracy) * 100 > FP32_REFERENCE_TOLERANCE_PP:
            problems.append(f"{where}: fp32 accuracy {fp32} is not within {FP32_REFERENCE_TOLERANCE_PP} pp of the "
                            f"track's reference accuracy {track.reference_accuracy:.4f}")
    except (UnknownNameError, SlimBenchError) as exc:
        problems.append(f"{where}: {exc}")
    acc, fp32 = res.get("accuracy"), res.get("accuracy_fp32")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (acc, fp32)) or not fp32:
        problems.append(f"{where}: no accuracy / fp32 accuracy to apply the accuracy gate")
    else:
        if not passes_accuracy_gate(acc / fp32, min_relative_accuracy):
            problems.append(f"{where}: accuracy {acc:.4%} is below the gate ({min_relative_accuracy:.0%} of fp32 "
                            f"{fp32:.4%} = {min_relative_accuracy * fp32:.4%}) on {cfg['track']} / {cfg['target']}")
        delta = res.get("accuracy_delta_pp")
        if delta is not None and abs(delta - (acc - fp32) * 100) > 1e-6:
            problems.append(f"{where}: accuracy_delta_pp {delta} disagrees with accuracy - accuracy_fp32 "
                            f"({(acc - fp32) * 100:.6f}): the results are inconsistent")
    loaded = None if force else load_refusal(record)
    if loaded:
        problems.append(f"{where}: {loaded}")
    return problems


def ingest(bundle_path: Path, store_root: Path, min_relative_accuracy: float = MIN_RELATIVE_ACCURACY,
           force: bool = False) -> dict:
    """Validate, then write. Returns {"added": [ids], "present": [ids], "source": path}."""
    from suite.records.store import RecordStore
    from suite.submission.sources import store_source

    plan = validate_bundle(load_bundle(bundle_path), min_relative_accuracy, force)
    store = RecordStore(Path(store_root))
    present = {p.stem for p in store.paths()}
    # (each write takes the store's lock; a record already present is left as it is)
    added, already = [], []
    try:
        for record in plan.records:
            if record["id"] in present:
                already.append(record["id"])
                continue
            store.write(record)
            added.append(record["id"])
        stored = [store_source(store.root, name, data) for name, data in plan.sources]
        source = stored[0] if stored else None
    except BaseException:
        for rid in added:  # all or nothing: take back what this ingest wrote
            (store.root / f"{rid}.json").unlink(missing_ok=True)
        raise
    return {"added": added, "present": already, "source": str(source), "sources": [str(p) for p in stored],
            "records": plan.records}
