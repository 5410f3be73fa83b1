"""Running a paper reproduction: harness runs whose records carry the verdict (kind "reproduction")."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from suite.records.store import RecordStore
from suite.reproduce.verdict import Verdict


class VerdictStore(RecordStore):
    """A RecordStore that lets a reproduction judge the record the harness is about to write and put the
    verdict into it, so the record (content-hashed, schema-validated) is written once, verdict included."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.annotate: Callable[[dict], dict | None] | None = None

    def write(self, record: dict) -> Path:
        if self.annotate is not None:
            record = dict(record)
            verdict = self.annotate(record)
            if verdict is not None:
                record["verdict"] = verdict
        return super().write(record)


@dataclass
class ReproduceContext:
    """What a paper runner gets besides its card: where records go and how to measure."""
    store: Path
    settings: Any = None            # suite.measure.latency.LatencySettings (None: the full defaults)
    measure_memory: bool = True
    workdir: Path | None = None
    seed: int | None = None         # overrides the card's seed when set
    records: list[dict] = field(default_factory=list)
    _session: Any = None

    def session(self):
        if self._session is None:
            from suite.harness import Session
            self._session = Session(VerdictStore(Path(self.store)), settings=self.settings, workdir=self.workdir,
                                    measure_memory=self.measure_memory, kind="reproduction")
        return self._session

    def spec(self, setup: dict[str, Any]):
        """A RunSpec from a card's `setup` (list params become tuples; the harness writes them comma-joined)."""
        from suite.harness import RunSpec

        params = {k: tuple(v) if isinstance(v, list) else v for k, v in setup.get("params", {}).items()}
        seed = self.seed if self.seed is not None else int(setup.get("seed", 0))
        return RunSpec(setup["track"], setup["method"], setup.get("target", "cpu"), seed, params)

    def run(self, spec, judge: Callable[[dict], Verdict], card: dict | None = None) -> tuple[dict, Verdict]:
        """Run `spec` through the harness; `judge(record)` -> Verdict goes into the record before it is written.
        A method that fails still yields a (failed) record, and the verdict says so."""
        session = self.session()
        judged: list[Verdict] = []

        def annotate(record: dict) -> dict:
            if record.get("status") != "ok":
                error = record.get("error") or {}
                from suite.reproduce.papers import paper_verdict
                verdict = paper_verdict(card or {"name": spec.method, "title": ""})
                verdict.error = f"{error.get('phase', '?')}: {error.get('type', '?')}: {error.get('message', '')}"
            else:
                verdict = judge(record)
            judged.append(verdict)
            return verdict.to_dict()

        session.store.annotate = annotate
        try:
            record = session.run(spec)
        finally:
            session.store.annotate = None
        verdict = judged[-1]
        verdict.records.append(record["id"])
        self.records.append(record)
        return record, verdict


def reproduce_paper(name: str, ctx: ReproduceContext) -> Verdict:
    """Load the card, run its runner, time it."""
    from suite.reproduce.papers import get_runner, load_card

    card = load_card(name)
    runner = get_runner(name)
    start = time.perf_counter()
    verdict = runner(card, ctx)
    verdict.seconds = time.perf_counter() - start
    return verdict
