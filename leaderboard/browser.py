"""Serve the leaderboard and look at it in headless Chromium: the end-to-end test and the README
screenshots share this. Streamlit renders client-side over a websocket, so a plain HTTP GET shows no
table; Chromium is driven through a tiny DevTools-protocol (CDP) client (the `websockets` sync client,
which Streamlit already depends on): navigate, poll the DOM until the element is there, screenshot.

    .venv/bin/python -m leaderboard.browser --store DIR --no-published --out docs/img

writes docs/img/board.png and docs/img/pareto.png."""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "leaderboard" / "app.py"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--hide-scrollbars", "--mute-audio"]

# DOM probes (Streamlit's data-testid attributes; the data grid draws on a canvas inside stDataFrame).
BOARD_READY_JS = """(() => {
  const grids = document.querySelectorAll('[data-testid="stDataFrame"]');
  return [...grids].some(g => g.querySelector('canvas'))  // a collapsed expander's grid has none yet
         && !document.querySelector('[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]');
})()"""
PARETO_READY_JS = """(() => {
  const chart = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  return !!chart && chart.querySelectorAll('.scatterlayer .trace .point').length > 0;
})()"""


class BrowserError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_chromium() -> str | None:
    """$SLIMBENCH_CHROMIUM, else Debian's chromium (installed for the tests by tests/setup_test_env.py)."""
    override = os.environ.get("SLIMBENCH_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
        if path:
            return path
    return None


# -- the Streamlit server ------------------------------------------------------------------------------
@contextlib.contextmanager
def serve(app_args: list[str], port: int | None = None, timeout: float = 90.0, log: Path | None = None,
          env: dict | None = None):
    """Run `streamlit run leaderboard/app.py` on 127.0.0.1; yields the base URL once /_stcore/health is ok.
    The server runs in its own process group, which is terminated (then killed) on exit."""
    port = port or free_port()
    log_handle = open(log, "wb") if log else subprocess.DEVNULL
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer", "--", *app_args]
    proc = subprocess.Popen(command, cwd=REPO, stdout=log_handle, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise BrowserError(f"streamlit exited with code {proc.returncode} before it was healthy"
                                   + (f"; log: {log}" if log else ""))
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BrowserError(f"streamlit not healthy at {base} after {timeout:.0f}s")
            time.sleep(0.3)
        yield base
    finally:
        _stop(proc)
        if log:
            log_handle.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# -- headless Chromium over CDP -----------------------------------------------------------------------
class Chromium:
    """One headless Chromium with one page, driven over the DevTools protocol."""

    def __init__(self, binary: str, width: int = 1600, height: int = 1000, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = Path(tempfile.mkdtemp(prefix="slimbench-chromium-"))
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=open(self.profile / "chromium.log", "wb"), start_new_session=True)
        self.ws = None
        self._stack = contextlib.ExitStack()  # owns the websocket
        self._next_id = 0
        try:
            port = self._devtools_port()
            page = self._page_target(port)
            from websockets.sync.client import connect
            self.ws = self._stack.enter_context(
                connect(page["webSocketDebuggerUrl"], max_size=256 * 2**20, open_timeout=self.timeout))
            self.call("Page.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def _devtools_port(self) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not marker.exists() or not marker.read_text().strip():
            if self.proc.poll() is not None:
                log = (self.profile / "chromium.log").read_text(errors="replace")[-2000:]
                raise BrowserError(f"chromium exited with code {self.proc.returncode}: {log}")
            if time.monotonic() > deadline:
                raise BrowserError(f"chromium did not open its DevTools port within {self.timeout:.0f}s")
            time.sleep(0.1)
        return int(marker.read_text().split()[0])

    def _page_target(self, port: int) -> dict:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                    pages = [t for t in json.load(response) if t.get("type") == "page"]
                if pages:
                    return pages[0]
            time.sleep(0.2)
        raise BrowserError("chromium has no page target")

    def call(self, method: str, **params):
        self._next_id += 1
        call_id = self._next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                raw = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                raise BrowserError(f"no DevTools answer to {method} within {self.timeout:.0f}s") from None
            except Exception as exc:  # websockets.ConnectionClosed and friends
                raise BrowserError(f"DevTools connection lost during {method}: {exc}") from exc
            message = json.loads(raw)
            if message.get("id") == call_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def wait_for(self, expression: str, timeout: float = 60.0, what: str = "element") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):
                if self.evaluate(expression):
                    return
            time.sleep(0.25)
        raise BrowserError(f"timed out after {timeout:.0f}s waiting for the {what}")

    def dom(self) -> str:
        return self.evaluate("document.documentElement.outerHTML") or ""

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()
        _stop(self.proc)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def capture_views(base: str, chromium: Chromium, out: Path, timeout: float = 90.0, settle: float = 1.5) -> dict:
    """Open the board and the Pareto view; wait for the table / chart; save board.png, pareto.png and
    the rendered DOM of each. Returns {view: dom}."""
    doms = {}
    for view, ready, what in (("board", BOARD_READY_JS, "board table"), ("pareto", PARETO_READY_JS, "Pareto chart")):
        chromium.open(f"{base}/?view={view}")
        chromium.wait_for(ready, timeout, what)
        time.sleep(settle)  # let the grid/plot finish their first paint before the screenshot
        chromium.screenshot(out / f"{view}.png")
        doms[view] = chromium.dom()
    return doms


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the leaderboard's board and Pareto views.")
    parser.add_argument("--store", action="append", default=[], help="local record store (repeatable)")
    parser.add_argument("--published", default=None)
    parser.add_argument("--no-published", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args(argv)
    binary = find_chromium()
    if not binary:
        print("no chromium found; run `python tests/setup_test_env.py` (as root) or set SLIMBENCH_CHROMIUM",
              file=sys.stderr)
        return 2
    app_args = [a for store in args.store for a in ("--store", str(Path(store).resolve()))]
    app_args += ["--no-published"] if args.no_published else (["--published", args.published] if args.published else [])
    with serve(app_args) as base, Chromium(binary, args.width, args.height) as chromium:
        capture_views(base, chromium, args.out)
    print(f"wrote {args.out / 'board.png'} and {args.out / 'pareto.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
