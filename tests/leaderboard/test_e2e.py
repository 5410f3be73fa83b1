"""End to end: the real Streamlit server on 127.0.0.1, opened in headless Chromium (Debian `chromium`,
installed by tests/setup_test_env.py), driven over the DevTools protocol (leaderboard/browser.py).
Marked e2e but not slow: it runs in CI."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from leaderboard import browser

pytestmark = pytest.mark.e2e

CHROMIUM = browser.find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium: run `python tests/setup_test_env.py` as root (apt-get install chromium) "
                             "or set SLIMBENCH_CHROMIUM")


@needs_chromium
def test_board_and_pareto_in_headless_chromium(record_store, records, tmp_path):
    out = tmp_path / "shots"
    log = tmp_path / "streamlit.log"
    with browser.serve(["--store", str(record_store), "--no-published"], log=log) as base:
        with browser.Chromium(CHROMIUM, width=1600, height=1000, timeout=60) as chromium:
            doms = browser.capture_views(base, chromium, out, timeout=90)
    for name in ("board", "pareto"):
        png = (out / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, name  # a real, non-blank screenshot
    board, pareto = doms["board"], doms["pareto"]
    # the board table: Streamlit's data grid, with the methods in its (accessible) cells
    assert 'data-testid="stDataFrame"' in board and "data-grid-canvas" in board
    for method in ("fp32", "torch-magnitude", "ort-int8-dynamic", "tflite-dynamic-range"):
        assert f">{method}</td>" in board, method
    assert "digits-mlp · cpu" in board and "digits-mlp · edge" in board
    assert "✓ reproduced" in board
    # the Pareto chart: a plotly figure with points and the front drawn
    assert 'data-testid="stPlotlyChart"' in pareto and "js-plotly-plot" in pareto
    assert 'class="scatterlayer' in pareto and "Pareto front" in pareto
    assert "accuracy vs latency" in pareto


@needs_chromium
def test_slimbench_leaderboard_command_serves(record_store, tmp_path):
    """`slimbench leaderboard` starts the same app; health and the app page answer."""
    port = browser.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "suite.cli", "leaderboard", "--headless", "--port", str(port),
                             "--store", str(record_store), "--no-published"], cwd=browser.REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            env=dict(os.environ))
    try:
        deadline, health = time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    health = response.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert health == "ok", f"no health answer; exit code {proc.poll()}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200 and b"<div id=\"root\">" in response.read()
    finally:
        browser._stop(proc)
        output = proc.stdout.read().decode(errors="replace")
    assert f"leaderboard: http://127.0.0.1:{port}" in output
