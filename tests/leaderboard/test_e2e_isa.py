"""End to end (issue 16): the served board, in headless Chromium, groups entries by ISA class and its ISA-class
filter works by clicks (the URL then carries it). Records: tests/leaderboard/test_isa_board.py's store
(published mnist-lenet5 · cpu records plus their copies measured on an AVX-512 VNNI CPU)."""
from __future__ import annotations

import json

import pytest

from leaderboard import browser
from tests.leaderboard.test_e2e import CHROMIUM, WAIT_S, _idle, _pick_filter, needs_chromium
from tests.leaderboard.test_isa_board import TARGET, TRACK, VNNI, build_isa_store

pytestmark = pytest.mark.e2e

HEADINGS_JS = "[...document.querySelectorAll('h3')].map(h => h.innerText.trim())"


@needs_chromium
def test_isa_class_filter_by_clicks(tmp_path):
    store = build_isa_store(tmp_path / "store")
    env = {"SLIMBENCH_LEADERBOARD_INDEX": str(tmp_path / "index.duckdb")}
    args = ["--published", str(store["root"]), "--store", str(tmp_path / "no-local-store")]
    split = [f"{TRACK} · {TARGET} · x86-avx2", f"{TRACK} · {TARGET} · {VNNI}"]
    with browser.serve(args, env=env, log=tmp_path / "streamlit.log", timeout=WAIT_S) as base, \
            browser.Chromium(CHROMIUM, width=1400, height=1000, timeout=WAIT_S) as chromium:
        chromium.open(f"{base}/?view=board&min_acc=0")
        chromium.wait_until(browser.BOARD_READY_JS, WAIT_S, "the board")
        _idle(chromium, f"{HEADINGS_JS}.filter(h => h.startsWith({json.dumps(TRACK)})).length === 2",
              what="one table per ISA class")
        assert [h for h in chromium.evaluate(HEADINGS_JS) if h.startswith(TRACK)] == split
        assert "ranked within one ISA class" in chromium.evaluate("document.body.innerText")
        _pick_filter(chromium, "ISA class", VNNI, "isa")
        _idle(chromium, f"{HEADINGS_JS}.includes({json.dumps(f'{TRACK} · {TARGET}')})", what="the filtered board")
        headings = [h for h in chromium.evaluate(HEADINGS_JS) if h.startswith(TRACK)]
        text = chromium.evaluate("document.body.innerText")
        search = chromium.evaluate("location.search")
    assert headings == [f"{TRACK} · {TARGET}"]  # only the VNNI entries are left: one table, no split
    assert f"ISA class {VNNI}" in text and "ISA class x86-avx2" not in text
    assert f"isa={VNNI}" in search
