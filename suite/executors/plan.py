"""What a suite invocation has to run: its specs (times seeds), their stable run keys, and which of them the
store already holds (resume after a killed driver)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

from suite.harness import RunSpec, Session
from suite.measure.latency import LatencySettings


def run_key(spec: RunSpec, kind: str, settings: LatencySettings, measure_memory: bool) -> str:
    """A stable name for one run of a suite: the configuration that decides what is measured (not the machine,
    time or code version). The same command run twice gives the same keys, so a resumed suite knows which runs
    are already recorded."""
    body = {"kind": kind, "track": spec.track, "method": spec.method, "target": spec.target, "seed": spec.seed,
            "method_params": {str(k): _plain(v) for k, v in sorted(spec.params.items())},
            "latency_settings": settings.key_dict(), "measure_memory": bool(measure_memory)}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)


def timed_with(session: Session, spec: RunSpec) -> LatencySettings:
    """The latency settings the run is timed with: a speed track's own unless the session overrides them. The run
    key names these, so a change to a default that a track overrides does not make its stored runs look new."""
    from suite.tracks import TRACKS
    track_cls = TRACKS.get(spec.track, None)
    return session.settings if track_cls is None else session.settings_for(track_cls)


def session_key(session: Session, spec: RunSpec) -> str:
    return run_key(spec, session.kind, timed_with(session, spec), session.measure_memory)


class KeyedSession(Session):
    """A Session whose records carry `config.run_key` (what resume matches on)."""

    def key(self, spec: RunSpec) -> str:
        return session_key(self, spec)

    def _base_record(self, spec: RunSpec, track, method_cls) -> dict:
        record = super()._base_record(spec, track, method_cls)
        record["config"]["run_key"] = self.key(spec)
        return record


def with_seeds(specs: list[RunSpec], seeds: list[int] | None) -> list[RunSpec]:
    """Each spec once per seed (in seed-major order, so every seed's baselines come first); None keeps them."""
    if not seeds:
        return list(specs)
    return [replace(spec, seed=seed) for seed in seeds for spec in specs]


def parse_seeds(text: str | None) -> list[int] | None:
    from suite.errors import ConfigError
    if text is None:
        return None
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--seeds expects comma-separated integers, e.g. 0,1,2; got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds expects distinct integers, e.g. 0,1,2; got {text!r}")
    return seeds


@dataclass
class Plan:
    """All runs with their keys (same order), the runs still to execute, and the records already in the store
    (by run key) that make the others unnecessary."""
    specs: list[RunSpec]
    keys: list[str]
    todo: list[int] = field(default_factory=list)  # indices into specs
    done: dict[str, dict] = field(default_factory=dict)


def plan_suite(session: Session, specs: list[RunSpec], resume: bool = True, retry_failed: bool = False) -> Plan:
    keys = [session_key(session, spec) for spec in specs]
    if len(set(keys)) != len(keys):
        from suite.errors import ConfigError
        raise ConfigError("the suite lists the same run twice (same run key); each run must be distinct")
    recorded: dict[str, dict] = {}
    if resume:
        wanted = set(keys)
        for record in session.store.records():
            key = record.get("config", {}).get("run_key")
            if key not in wanted or (retry_failed and record["status"] != "ok"):
                continue
            if key not in recorded or (record["status"] == "ok" and recorded[key]["status"] != "ok"):
                recorded[key] = record
    todo = [i for i, key in enumerate(keys) if key not in recorded]
    return Plan(specs=list(specs), keys=keys, todo=todo, done=recorded)
