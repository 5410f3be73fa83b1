"""`slimbench reproduce ID|BUNDLE`: re-run records from their config and seed; write verdict records.

ID (or an id prefix) is looked up in the local store, then in the published results
(leaderboard/results); a path names a bundle (directory or .tar.gz) or one record .json. A submitted
method's source is found by the sha256 its record carries: in the bundle, beside the store
(<store>/method-sources/, written by ingest), or at the path the spec names. The re-run uses the
record's latency settings and runs submitted code isolated; its record (kind "reproduction", with a
`verdict` of kind "record": suite/reproduce/compare.py says what is compared) goes to the store, where the
leaderboard shows the "reproduced" badge for passing ones."""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from suite.errors import RecordError, SlimBenchError
from suite.reproduce.compare import Tolerances, record_verdict
from suite.reproduce.verdict import Verdict


@dataclass
class Original:
    """A record to reproduce, and where the sources of its submitted methods may be."""
    record: dict
    source_roots: list[Path]          # directories to look for method-sources/<sha>/ in
    source_files: list[Path]          # explicit candidate source files (e.g. a bundle's)


def _published_root() -> Path:
    from suite import paths
    return paths.PUBLISHED_RESULTS


def find_originals(ref: str, store_root: Path, scratch: Path) -> list[Original]:
    from suite.records.store import RecordStore, load_record

    path = Path(ref)
    if path.exists():
        if path.is_file() and path.suffix == ".json":
            return [Original(load_record(path), [path.parent, store_root, _published_root()], [])]
        from suite.submission.bundle import load_bundle
        from suite.submission.ingest import validate_bundle

        plan = validate_bundle(load_bundle(path), min_relative_accuracy=0.0)  # integrity; the re-run judges numbers
        files = []
        for i, (name, data) in enumerate(plan.sources):  # every submitted source (a chain: one per stage)
            source = scratch / "bundle-source" / str(i) / Path(name).name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            files.append(source)
        return [Original(r, [store_root, _published_root()], files) for r in plan.records]
    errors = []
    for root in (store_root, _published_root()):
        try:
            record = RecordStore(root).find(ref)
        except RecordError as exc:
            errors.append(str(exc))
            continue
        return [Original(record, [root, store_root, _published_root()], [])]
    raise RecordError(f"{ref!r} is neither a bundle/record path nor a record id: " + "; ".join(errors))


def stage_source_sha256s(cfg: dict) -> dict[int, str]:
    """{1-based stage: source sha256} of a record's submitted stages: a chain's `method_stages`, or the single
    method's `method_source_sha256`."""
    shas = {int(entry["stage"]): entry["source_sha256"] for entry in cfg.get("method_stages") or []
            if isinstance(entry, dict) and entry.get("source_sha256") and entry.get("stage")}
    if not shas and cfg.get("method_source_sha256"):
        shas[1] = cfg["method_source_sha256"]
    return shas


def rerun_spec(original: Original) -> str:
    """The method spec to run here, stage by stage (a chain may hold several submitted stages): built-ins by
    name; an entry point as installed, if its source has the recorded sha256; a file by a source with the
    recorded sha256 (in the bundle, in a store's method-sources/, or at the recorded path)."""
    from suite.methodspec import ENTRY_POINT, MethodSpec
    from suite.paths import REPO_ROOT
    from suite.submission.sources import find_source

    cfg = original.record["config"]
    spec = MethodSpec.parse(cfg["method"])
    shas = stage_source_sha256s(cfg)
    stages = []
    for index, stage in enumerate(spec.stages, 1):
        sha = shas.get(index)
        if not stage.submitted:
            stages.append(stage)
        elif stage.kind == ENTRY_POINT:
            found = stage.source_sha256()
            if sha and found != sha:
                raise SlimBenchError(f"method {stage.text!r}: the installed entry point's source sha256 is {found}, "
                                     f"the record was made with {sha}; install the submitted version")
            stages.append(stage)
        else:
            if not sha:
                raise SlimBenchError(f"record {original.record['id']} names file method {stage.text!r} without its "
                                     "source sha256")
            candidates = [*original.source_files, stage.path, REPO_ROOT / stage.path]
            path = find_source(sha, stage.path.name, original.source_roots, candidates)
            if path is None:
                raise SlimBenchError(f"the source of {stage.text!r} with sha256 {sha} is not in the bundle, in "
                                     f"<store>/method-sources/ or at {stage.path}; ingest the submission's bundle "
                                     "or pass it")
            stages.append(stage.with_path(path.resolve()))
    return spec.with_stages(stages).text


def reproduce_one(original: Original, store_root: Path, tol: Tolerances, workdir: Path,
                  isolation=None) -> tuple[dict, Verdict]:
    """Re-run one record; returns (reproduction record as written, verdict)."""
    from suite.harness import RunSpec, Session
    from suite.measure.latency import LatencySettings
    from suite.records.store import RecordStore

    record = original.record
    if record.get("kind") == "reproduction":
        of = (record.get("verdict") or {}).get("of")
        raise SlimBenchError(f"{record['id']} is itself a reproduction (of {of}); reproduce the original run")
    if record["status"] != "ok":
        raise SlimBenchError(f"{record['id']} is a failed run; there are no numbers to reproduce")
    cfg = record["config"]
    spec = rerun_spec(original)
    settings = LatencySettings(**cfg["latency_settings"]) if cfg.get("latency_settings") else LatencySettings()
    from suite.submission.launcher import isolated
    session = Session(workdir / "store", settings=settings, workdir=workdir / "work", measure_memory=False,
                      applier=isolated(isolation))
    rerun = session.run(RunSpec(cfg["track"], spec, cfg["target"], int(cfg["seed"]), dict(cfg.get("method_params") or {})))
    verdict = record_verdict(record, rerun, tol)
    reproduction = {k: v for k, v in rerun.items() if k != "id"}
    reproduction["kind"] = "reproduction"
    reproduction["verdict"] = verdict.to_dict()
    # Same configuration key as the original (the leaderboard pairs them): spec and command as recorded.
    reproduction["config"] = {**reproduction["config"], "method": cfg["method"], "command": cfg.get("command", ""),
                              "method_source_sha256": cfg.get("method_source_sha256")}
    if cfg.get("method_stages"):  # a chain's submitted stages and their sources, as recorded
        reproduction["config"]["method_stages"] = cfg["method_stages"]
    path = RecordStore(store_root).write(reproduction)
    written = json.loads(path.read_text())
    verdict.records.append(written["id"])
    return written, verdict


def reproduce(ref: str, store_root: Path, tol: Tolerances | None = None, isolation=None,
              echo=print) -> list[tuple[dict, dict, Verdict]]:
    """Reproduce a record id, a record file or every record of a bundle: [(original, reproduction, verdict)]."""
    from suite.reproduce.verdict import format_verdict
    from suite.submission.isolation import IsolationSettings

    tol = tol or Tolerances()
    # Submitted code re-run here must not touch the store the verdicts go to, nor the published results.
    isolation = isolation or IsolationSettings(extra_guard_dirs=(Path(store_root), _published_root()))
    scratch = Path(tempfile.mkdtemp(prefix="slimbench-reproduce-"))
    try:
        out = []
        for i, original in enumerate(find_originals(ref, Path(store_root), scratch)):
            record, verdict = reproduce_one(original, Path(store_root), tol, scratch / f"run{i}", isolation)
            echo(format_verdict(verdict, original.record))
            echo(f"  verdict record: {Path(store_root) / (record['id'] + '.json')}\n")
            out.append((original.record, record, verdict))
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(args) -> int:
    """The `slimbench reproduce ID|BUNDLE` branch: exit 0 only when every judged check of every record holds."""
    import sys

    from suite.paths import default_store

    store = args.store or default_store()
    tol = Tolerances(acc_pp=args.acc_tol, speedup_rel=args.speed_tol, size_rel=args.size_tol)
    results = reproduce(args.ref, Path(store), tol)
    failed = [original["id"] for original, _, verdict in results if not verdict.passed]
    if failed:
        print(f"not reproduced: {', '.join(failed)} (see the checks marked FAIL)", file=sys.stderr)
        return 1
    print(f"reproduced: {len(results)} record(s), every judged check within tolerance")
    return 0
