"""The board and issue 16: ISA classes (grouped, filtered, never ranked together), speedup intervals (shown,
sorted by the point estimate), records timed under high load (marked) and repeated records of one configuration
on one machine (median and spread). Over copies of published records whose CPU, load, interval and repeat
fields are changed, written through the record store (schema-validated, ids re-hashed)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from leaderboard import data
from leaderboard.rows import record_row
from suite.records.store import RecordStore

PUBLISHED = Path(__file__).resolve().parents[2] / "leaderboard" / "results"
TRACK, TARGET = "mnist-lenet5", "cpu"
VNNI = "x86-avx512-vnni"


def _published(track=TRACK, target=TARGET) -> list[dict]:
    out = []
    for path in sorted(PUBLISHED.glob("*.json")):
        record = json.loads(path.read_text())
        cfg = record["config"]
        if record["status"] == "ok" and record["kind"] == "run" and (cfg["track"], cfg["target"]) == (track, target):
            out.append(record)
    return out


def _on_vnni(record: dict, factor: float) -> dict:
    """The record as if measured on an AVX-512 VNNI Xeon: another machine and ISA class, int8 ratios scaled."""
    record = copy.deepcopy(record)
    cpu = record["provenance"]["cpu"]
    cpu.update(model="Intel(R) Xeon(R) Platinum 8480+ (test copy)", isa_class=VNNI, vendor="GenuineIntel")
    res = record["results"]
    res["speedup_single_stream"] = round(res["speedup_single_stream"] * factor, 6)
    return record


def build_isa_store(root: Path) -> dict:
    """Published mnist-lenet5/cpu records (x86-avx2), the same on a VNNI machine with the speedups ×3 (so
    every VNNI ratio would out-rank every AVX2 one if they were ranked together), one AVX2 record timed under
    high load with a 95% interval, and three repeats of the int8 configuration on the AVX2 machine."""
    store = RecordStore(root)
    base = _published()
    assert len(base) >= 5
    ids = {"avx2": [], "vnni": [], "repeats": []}
    fp32 = next(r for r in base if r["config"]["method"] == "fp32")
    loaded = next(r for r in base if r["config"]["method"] not in ("fp32",)
                  and r["config"]["method"] != "ort-int8-dynamic")
    for record in base:
        record = copy.deepcopy(record)
        if (record["config"]["method"], record["created_utc"]) == (loaded["config"]["method"], loaded["created_utc"]):
            res = record["results"]
            res["speedup_single_stream_ci"] = [round(res["speedup_single_stream"] * 0.97, 6),
                                               round(res["speedup_single_stream"] * 1.03, 6)]
            res["timing"] = {"ci_method": "test", "load": {"max_interference": 0.62, "threshold": 0.25, "high": True},
                             "single_stream": {"ci_run": [round(res["speedup_single_stream"] * 0.99, 6),
                                                          round(res["speedup_single_stream"] * 1.01, 6)]},
                             "between_runs": {"applied": True, "machine": "0123456789abcdef", "groups": 2, "runs": 10,
                                              "measured": ["2026-11-30T18:00:00Z", "2026-11-30T18:20:00Z"],
                                              "phases": {}, "configurations": ["sst2-transformer/ort-int8-dynamic"]}}
            ids["loaded"] = json.loads(store.write(record).read_text())["id"]
            ids["avx2"].append(ids["loaded"])
            continue
        ids["avx2"].append(json.loads(store.write(record).read_text())["id"])
    for record in base:
        ids["vnni"].append(json.loads(store.write(_on_vnni(record, 3.0)).read_text())["id"])
    int8 = next(r for r in base if r["config"]["method"] == "ort-int8-dynamic")
    for n, factor in enumerate((0.9, 1.0, 1.2), start=1):  # a later day, same machine: --repeat 3
        record = copy.deepcopy(int8)
        record["created_utc"] = f"2031-01-0{n}T00:00:00Z"
        record["config"]["repeat"] = {"group": "abcdef012345", "index": n, "of": 3}
        record["results"]["speedup_single_stream"] = round(int8["results"]["speedup_single_stream"] * factor, 6)
        ids["repeats"].append(json.loads(store.write(record).read_text())["id"])
    return {"root": root, "ids": ids, "fp32": fp32, "int8": int8, "loaded": loaded}


@pytest.fixture(scope="module")
def isa_store(tmp_path_factory) -> dict:
    return build_isa_store(tmp_path_factory.mktemp("isa-store"))


@pytest.fixture(scope="module")
def frame(isa_store):
    return data.frame(data.load([data.Source("published", isa_store["root"])]))


def test_rows_carry_isa_class_interval_load_and_repeat_group(isa_store):
    records = {r["id"]: r for r in RecordStore(isa_store["root"]).records()}
    loaded = record_row(records[isa_store["ids"]["loaded"]])
    res = records[isa_store["ids"]["loaded"]]["results"]
    assert loaded["isa_class"] == "x86-avx2" and loaded["high_load"] is True and loaded["load_share"] == 0.62
    assert (loaded["speedup_ci_low"], loaded["speedup_ci_high"]) == tuple(res["speedup_single_stream_ci"])
    assert record_row(records[isa_store["ids"]["vnni"][0]])["isa_class"] == VNNI
    assert record_row(records[isa_store["ids"]["repeats"][0]])["repeat_group"] == "abcdef012345"
    fp32 = record_row(records[isa_store["ids"]["avx2"][0]])
    assert fp32["high_load"] is False or fp32["id"] == isa_store["ids"]["loaded"]


def test_filter_by_isa_class(frame):
    every, _ = data.board_rows(frame, data.Filters(min_relative_accuracy=0))
    vnni, _ = data.board_rows(frame, data.Filters(min_relative_accuracy=0, isa_classes=[VNNI]))
    assert set(every["isa_class"]) == {"x86-avx2", VNNI}
    assert len(vnni) and set(vnni["isa_class"]) == {VNNI} and len(vnni) < len(every)


def test_ratios_of_different_isa_classes_are_never_ranked_together(frame):
    """VNNI speedups are ×3 of AVX2 ones: ranked as equals they would interleave or lead; ranked by class, all of
    one class come together and each class is ordered by its own speedups (the point estimate)."""
    rows, _ = data.board_rows(frame, data.Filters(min_relative_accuracy=0))
    order = data.ranked(rows)
    classes = order["isa_class"].tolist()
    assert classes == sorted(classes)  # contiguous blocks, one per class
    for isa in set(classes):
        speedups = order[order["isa_class"] == isa]["speedup"].dropna().tolist()
        assert speedups == sorted(speedups, reverse=True)


def test_interval_text_and_repeats(frame, isa_store):
    by_id = frame.set_index("id")
    loaded = by_id.loc[isa_store["ids"]["loaded"]]
    assert re.fullmatch(r"\[\d+\.\d\d, \d+\.\d\d\]", loaded["speedup_ci"])
    assert bool(loaded["high_load"])
    repeat = by_id.loc[isa_store["ids"]["repeats"][0]]
    base = isa_store["int8"]["results"]["speedup_single_stream"]
    # the original int8 record and its three repeats: one configuration on one machine, four records
    assert repeat["repeat_n"] == 4
    assert repeat["repeat_median"] == pytest.approx(base, rel=1e-5)  # median of 0.9, 1, 1, 1.2 × base
    assert repeat["repeat_min"] == pytest.approx(base * 0.9, rel=1e-5)
    assert repeat["repeat_max"] == pytest.approx(base * 1.2, rel=1e-5)
    assert repeat["repeats"].startswith(f"{repeat['repeat_median']:.2f}× median of 4")
    vnni_twin = frame[(frame["isa_class"] == VNNI) & (frame["method_spec"] == "ort-int8-dynamic")].iloc[0]
    assert vnni_twin["repeat_n"] == 1 and vnni_twin["repeats"] == ""  # another machine: not a repeat


def test_null_accuracy_rows_do_not_break_the_frame(tmp_path):
    """Speed-only tracks' records (accuracy null) beside accuracy records: rows, repeats and filters work."""
    speed = [json.loads(p.read_text()) for p in sorted(PUBLISHED.glob("*.json"))
             if json.loads(p.read_text())["config"]["track"].startswith("speed-")]
    if not speed:
        pytest.skip("no speed-track records published")
    store = RecordStore(tmp_path)
    for record in speed[:6] + _published()[:3]:
        store.write(copy.deepcopy(record))
    df = data.frame(data.load([data.Source("published", tmp_path)]))
    rows, _ = data.board_rows(df, data.Filters())
    assert (rows["track_kind"] != "speed").all()
    speed_rows = data.speed_rows(df, data.Filters(isa_classes=["x86-avx2"]))
    assert len(speed_rows) and speed_rows["accuracy_pct"].isna().all()


# -- the app (AppTest) -----------------------------------------------------------------------------------
def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def test_board_shows_one_table_per_isa_class_and_says_why(app, isa_store):
    at = app(published=isa_store["root"], min_acc="0")
    assert not at.exception, [e.value for e in at.exception]
    headers = [_unescape(h.value) for h in at.subheader]
    assert headers == [f"{TRACK} · {TARGET} · x86-avx2", f"{TRACK} · {TARGET} · {VNNI}"]
    assert any("ranked within one ISA class" in _unescape(i.value) for i in at.info)
    tables = [df.value for df in at.dataframe if "link" in df.value.columns]
    avx2, vnni = tables
    assert len(avx2) and len(vnni)
    assert list(avx2["speedup"].dropna()) == sorted(avx2["speedup"].dropna(), reverse=True)  # point estimate
    loaded = avx2[avx2["link"].str.contains(isa_store["ids"]["loaded"])].iloc[0]
    assert loaded["load"] == "⚠ high" and re.fullmatch(r"\[.+, .+\]", loaded["speedup_ci"])
    assert (avx2[~avx2["link"].str.contains(isa_store["ids"]["loaded"])]["load"] == "").all()
    assert any("median of 4" in text for text in avx2["repeats"])
    assert any("timed under high load" in _unescape(c.value) for c in at.caption)


def test_isa_filter_lives_in_the_url(app, isa_store):
    at = app(published=isa_store["root"], min_acc="0", isa=VNNI)
    assert not at.exception, [e.value for e in at.exception]
    headers = [_unescape(h.value) for h in at.subheader]
    assert headers == [f"{TRACK} · {TARGET}"]  # one class left: no split, no ISA note
    table = next(df.value for df in at.dataframe if "link" in df.value.columns)
    assert set(table["isa_class"]) == {VNNI}
    assert at.query_params.get("isa") in (VNNI, [VNNI])
    assert all(f"isa={VNNI}" in link for link in table["link"])  # entry links keep the filter
    assert not any("ranked within one ISA class" in _unescape(i.value) for i in at.info)


def test_entry_shows_interval_isa_and_load(app, isa_store):
    at = app(published=isa_store["root"], view="entry", id=isa_store["ids"]["loaded"], min_acc="0")
    assert not at.exception, [e.value for e in at.exception]
    speedup = next(m for m in at.metric if m.label == "speedup (batch 1)")
    assert "95% interval [" in (speedup.help or "")
    assert any("Timed under high load" in _unescape(w.value) for w in at.warning)
    assert any("ISA class x86-avx2" in _unescape(c.value) for c in at.caption)
    spread = next(_unescape(c.value) for c in at.caption if "between-run spread" in _unescape(c.value))
    assert "2 `--repeat` group(s) of 10 runs" in spread and "this run's own batch-1 interval: [" in spread


def test_export_carries_interval_isa_class_and_load(frame, isa_store):
    import csv
    import io

    rows, _ = data.board_rows(frame, data.Filters(min_relative_accuracy=0))
    table = list(csv.DictReader(io.StringIO(data.export_csv(rows, "http://board.example/"))))
    loaded = next(r for r in table if r["record id"] == isa_store["ids"]["loaded"])
    assert re.fullmatch(r"\[.+, .+\]", loaded["speedup batch 1 95% CI"]) and loaded["timed under high load"] == "True"
    assert {r["ISA class"] for r in table} == {"x86-avx2", VNNI}
    classes = [r["ISA class"] for r in table]
    assert classes == sorted(classes)  # the board's order: ranked within each ISA class


def test_plot_hover_shows_the_speedup_interval(frame, isa_store):
    from leaderboard import pareto

    rows, _ = data.board_rows(frame, data.Filters(min_relative_accuracy=0, isa_classes=["x86-avx2"]))
    fig, plotted = pareto.figure(rows, "size")
    assert isa_store["ids"]["loaded"] in set(plotted["id"])
    hovers = {str(point[7]): str(point[8]) for trace in fig.data if trace.customdata is not None
              for point in trace.customdata}
    assert re.fullmatch(r" \[\d+\.\d\d, \d+\.\d\d\]", hovers[isa_store["ids"]["loaded"]])
    assert all("%{customdata[8]}" in t.hovertemplate for t in fig.data if t.customdata is not None)
    speed_fig, _ = pareto.speed_figure(rows, "size")
    assert all("%{customdata[7]}" in t.hovertemplate for t in speed_fig.data if t.customdata is not None)


def test_compare_warns_when_entries_come_from_different_isa_classes(app, isa_store):
    avx2, vnni = isa_store["ids"]["avx2"][0], isa_store["ids"]["vnni"][0]
    at = app(published=isa_store["root"], view="compare", ids=[avx2, vnni], min_acc="0")
    assert not at.exception, [e.value for e in at.exception]
    assert any("2 ISA classes" in _unescape(w.value) for w in at.warning)
    table = next(d.value for d in at.dataframe if "differs" in d.value.columns)
    assert bool(table.loc["ISA class", "differs"]) and "speedup 95% CI" in table.index
    same = app(published=isa_store["root"], view="compare", ids=isa_store["ids"]["avx2"][:2], min_acc="0")
    assert not any("ISA classes" in _unescape(w.value) for w in same.warning)
