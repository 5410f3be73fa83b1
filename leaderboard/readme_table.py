"""The README's results table, regenerated from the published records:

    python -m leaderboard.readme_table            # rewrites the block between the README's results markers
    python -m leaderboard.readme_table --print    # prints it instead

One row per (track, target, method, params): the latest successful `run` record of that configuration in
`leaderboard/results/`. Parameters are shown where they differ from the method's *current* defaults, so a
record made under older defaults is labelled with what it actually ran."""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

from leaderboard.data import is_reproduction, params_text, reference_is_current
from suite.methodspec import MethodSpec
from suite.paths import REPO_ROOT
from suite.records.sections import Memory, Size, read_results
from suite.records.store import RecordStore

TRACKS = ("mnist-lenet5", "fashion-lenet5", "cifar10-resnet8", "sst2-transformer")  # image tracks + the text track
BEGIN, END = "<!-- results-table:begin -->", "<!-- results-table:end -->"
HEADER = ("| track | target | method | top-1 | Δ pp | p50 ms (b1) | speedup b1 | speedup b64 | size KB | gzip KB "
          "| peak MB |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def non_default_params(method: str, params: dict | None) -> dict:
    """The params that differ from the registered method's current defaults (all of them for chains or
    methods this checkout does not know)."""
    from methods import METHODS

    params = params or {}
    if MethodSpec.parse(method, entry_names=frozenset()).is_chain or method not in METHODS.names():
        return params
    cls = METHODS.get(method)
    defaults = dataclasses.asdict(cls.Config())
    # A parameter added after a record was written: the record ran with the value the method had then.
    params = {**getattr(cls, "former_defaults", {}), **params}
    return {k: v for k, v in params.items() if _normal(defaults.get(k, object())) != _normal(v)}


def _normal(value):
    return list(value) if isinstance(value, tuple) else value


def _x(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _peak_mb(mem: Memory | None) -> str:
    return "-" if mem is None or mem.net_peak_mb is None else f"{mem.net_peak_mb:.0f}"


def table_row(record: dict) -> str:
    cfg, res = record["config"], read_results(record)
    shown = non_default_params(cfg["method"], cfg.get("method_params"))
    method = f"`{cfg['method']}`" + (f" ({params_text(shown)})" if shown else "")
    size = res.size or Size()
    cells = [cfg["track"], cfg["target"], method, f"{res.accuracy * 100:.2f}%",
             f"{res.accuracy_delta_pp or 0:+.2f}", f"{res.latency_single_stream.p50_ms:.3f}",
             _x(res.speedup_single_stream), _x(res.speedup_offline),
             f"{size.kb:.0f}", f"{size.gzip_kb:.0f}", _peak_mb(res.memory)]
    return "| " + " | ".join(cells) + " |"


def build_table(results_dir: Path) -> str:
    latest: dict[tuple, dict] = {}
    for record in RecordStore(results_dir).records():
        cfg = record["config"]
        if (record["status"] != "ok" or record.get("kind") == "reproduction" or is_reproduction(record)
                or cfg["track"] not in TRACKS):  # re-runs (passed or failed) confirm rows, never replace them
            continue
        if reference_is_current(cfg["track"], (record.get("provenance") or {}).get("checkpoint_sha256")) is False:
            continue  # measured against a reference that has since been retrained
        key = (cfg["track"], cfg["target"], cfg["method"], params_text(cfg.get("method_params")))
        if key not in latest or record["created_utc"] >= latest[key]["created_utc"]:
            latest[key] = record
    rows = sorted(latest.values(), key=lambda r: (TRACKS.index(r["config"]["track"]), r["config"]["target"],
                                                  r["config"]["method"] != "fp32", table_row(r)))
    return "\n".join([HEADER, *map(table_row, rows)])


SPEED_TRACKS = ("speed-mobilenetv2", "speed-resnet50", "speed-bert-base")
SPEED_BEGIN, SPEED_END = "<!-- speed-table:begin -->", "<!-- speed-table:end -->"
SPEED_HEADER = ("| track | target (threads) | method | top-1 | p50 ms (b1) | speedup b1 [95% CI] | speedup b64 [95% CI] "
                "| size MB | × smaller | peak MB |\n| --- | --- | --- | :---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def _ratio(value, ci) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def speed_row(record: dict) -> str:
    cfg, res = record["config"], read_results(record)
    size = res.size or Size()
    threads = ((record.get("provenance") or {}).get("runtime") or {}).get("threads")
    cells = [cfg["track"], cfg["target"] + (f" ({threads})" if threads else ""), f"`{cfg['method']}`", "—",
             f"{res.latency_single_stream.p50_ms:.1f}",
             _ratio(res.speedup_single_stream, res.speedup_single_stream_ci),
             _ratio(res.speedup_offline, res.speedup_offline_ci),
             f"{size.artifact_bytes / 2**20:.1f}", f"{size.compression_ratio or 1:.2f}x", _peak_mb(res.memory)]
    return "| " + " | ".join(cells) + " |"


def build_speed_table(results_dir: Path) -> str:
    """The speed-only tracks' section: the latest successful record per (track, target, method), and the CPU
    (with its ISA class) it was measured on, since int8 gains depend on it. Failed runs are listed with their
    reason, so a conversion that does not work says so."""
    latest: dict[tuple, dict] = {}
    for record in RecordStore(results_dir).records():
        cfg = record["config"]
        if cfg["track"] not in SPEED_TRACKS or record.get("kind") == "reproduction":
            continue
        key = (cfg["track"], cfg["target"], cfg["method"])
        best = latest.get(key)
        # an ok record wins over a failed one; among equals the latest
        rank = (record["status"] == "ok", record["created_utc"])
        if best is None or rank >= (best["status"] == "ok", best["created_utc"]):
            latest[key] = record
    ok = [r for r in latest.values() if r["status"] == "ok"]
    failed = [r for r in latest.values() if r["status"] != "ok"]
    order = lambda r: (SPEED_TRACKS.index(r["config"]["track"]), r["config"]["target"],  # noqa: E731
                       r["config"]["method"] != "fp32", r["config"]["method"])
    cpus = sorted({f"{(r['provenance'].get('cpu') or {}).get('model', '?')} "
                   f"({(r['provenance'].get('cpu') or {}).get('logical_cores', '?')} cores, "
                   f"{(r['provenance'].get('cpu') or {}).get('isa_class', 'ISA not recorded')})" for r in ok})
    lines = [f"CPU: {', '.join(cpus) or '(no records)'}", "", SPEED_HEADER, *map(speed_row, sorted(ok, key=order))]
    if failed:
        lines += ["", "Runs that failed (the record's reason):", ""]
        lines += [f"- {r['config']['track']} / {r['config']['target']} / `{r['config']['method']}`: "
                  f"{(r.get('error') or {}).get('message', '?').splitlines()[0][:200]}"
                  for r in sorted(failed, key=order)]
    return "\n".join(lines)


def _replace_block(text: str, begin: str, end: str, body: str) -> str:
    block = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    return block.sub(lambda _: f"{begin}\n{body}\n{end}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print", action="store_true", help="print the table instead of rewriting README.md")
    args = parser.parse_args(argv)
    table = build_table(REPO_ROOT / "leaderboard" / "results")
    speed = build_speed_table(REPO_ROOT / "leaderboard" / "results")
    if args.print:
        print(table + "\n\n" + speed)
        return 0
    readme = REPO_ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"README.md has no {BEGIN} ... {END} block to rewrite", file=sys.stderr)
        return 2
    text = _replace_block(text, BEGIN, END, table)
    if SPEED_BEGIN in text and SPEED_END in text:
        text = _replace_block(text, SPEED_BEGIN, SPEED_END, speed)
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
