"""Serve the leaderboard and look at it in headless Chromium: the end-to-end test and the README
screenshots share this. Streamlit renders client-side over a websocket, so a plain HTTP GET shows no
table; Chromium is driven through a tiny DevTools-protocol (CDP) client (the `websockets` sync client,
which Streamlit already depends on): navigate, poll the DOM until the element is there, screenshot.

    make screenshots        # = .venv/bin/python -m leaderboard.browser --out docs/img (the published records)

writes docs/img/<view>.png for the board, all rows, Pareto, entry, compare and papers views."""
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


# Streamlit has finished a run: the app says it is not running and no element is stale (greyed, about to go).
IDLE_JS = """(() => !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
   && !document.querySelector('[data-stale="true"]')
   && !!document.querySelector('[data-testid="stApp"]'))()"""


def js_text(selector: str, text: str, exact: bool = True) -> str:
    """A JS expression for the first element matching selector whose text is (or contains) text."""
    test = "t === want" if exact else "t.includes(want)"
    return (f"[...document.querySelectorAll({json.dumps(selector)})].find(e => {{ const t = e.innerText.trim(); "
            f"const want = {json.dumps(text)}; return {test}; }})")


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
    with serve_process(app_args, port, timeout, log, env) as (base, _proc):
        yield base


@contextlib.contextmanager
def serve_process(app_args: list[str], port: int | None = None, timeout: float = 90.0, log: Path | None = None,
                  env: dict | None = None, script: Path | None = None):
    """As serve(), yielding (base URL, the server's Popen) — the benchmark reads the process's memory. `script`:
    serve that Streamlit script instead of the board, with the same server flags (the benchmark's floor)."""
    port = port or free_port()
    log_handle = open(log, "wb") if log else subprocess.DEVNULL
    serve = ["leaderboard.serve"] if script is None else ["streamlit", "run", str(script)]
    command = [sys.executable, "-m", *serve, "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
               "--server.showEmailPrompt", "false",
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
            time.sleep(0.1)
        yield base, proc
    finally:
        _stop(proc)
        if log:
            log_handle.close()


def process_memory_mb(pid: int) -> dict:
    """{'rss': current, 'peak': high-water mark} resident memory of one process, in MiB (Linux /proc)."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out["rss" if key == "VmRSS" else "peak"] = int(value.split()[0]) / 1024
    return out


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
        """Navigate and wait until the new document has replaced the old one: Page.navigate returns before
        that, and a probe evaluated in between would read (and a click would hit) the previous page."""
        self.evaluate("window.__slimbenchOldDocument = true")
        self.call("Page.navigate", url=url)
        self.wait_until("!window.__slimbenchOldDocument && document.readyState !== 'loading'", self.timeout,
                        f"the page {url}")

    def wait_for(self, expression: str, timeout: float = 60.0, what: str = "element") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):
                if self.evaluate(expression):
                    return
            time.sleep(0.25)
        raise BrowserError(f"timed out after {timeout:.0f}s waiting for the {what}")

    def wait_until(self, expression: str, timeout: float = 60.0, what: str = "element", poll: float = 0.02) -> float:
        """As wait_for, polling faster; returns the seconds waited (the benchmark's clock)."""
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BrowserError):
                if self.evaluate(expression):
                    return time.perf_counter() - started
            time.sleep(poll)
        raise BrowserError(f"timed out after {timeout:.0f}s waiting for the {what}")

    def center_of(self, expression: str) -> tuple[float, float]:
        """Viewport centre of the element a JS expression returns (scrolled into view first)."""
        box = self.evaluate(f"""(() => {{
            const el = {expression};
            if (!el) return null;
            el.scrollIntoView({{block: 'center', inline: 'nearest'}});
            const r = el.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        }})()""")
        if not box:
            raise BrowserError(f"no element for {expression}")
        return box[0], box[1]

    def click_at(self, x: float, y: float) -> None:
        """A real mouse click (press + release) at viewport coordinates."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def click(self, expression: str) -> None:
        self.click_at(*self.center_of(expression))

    def key(self, key: str, code: str | None = None, key_code: int = 0) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code or key,
                      windowsVirtualKeyCode=key_code)

    def allow_downloads(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            self.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(folder))
        except BrowserError:
            self.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(folder))

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


VIEW_READY = {
    "pareto": (PARETO_READY_JS, "Pareto chart"),
    "entry": ("document.body.innerText.includes('Reproduce this entry')", "entry page"),
    "papers": ("[...document.querySelectorAll('h2')].some(h => h.innerText.trim() === 'Paper reproductions')",
               "papers view"),
}
SCREENSHOT_VIEWS = ("board", "rows", "pareto", "entry", "compare", "papers")


def capture_views(base: str, chromium: Chromium, out: Path, timeout: float = 90.0, settle: float = 1.5,
                  views=("board", "pareto"), queries: dict | None = None) -> dict:
    """Open each view; wait for its table / chart; save <view>.png and keep the rendered DOM of each.
    queries: extra URL query per view (e.g. the entry to show). Returns {view: dom}."""
    doms = {}
    for view in views:
        ready, what = VIEW_READY.get(view, (BOARD_READY_JS, f"{view} table"))
        chromium.open(f"{base}/?view={view}" + (f"&{queries[view]}" if queries and view in queries else ""))
        chromium.wait_for(ready, timeout, what)
        with contextlib.suppress(BrowserError):
            chromium.wait_for(IDLE_JS, timeout, "the app to finish")
        time.sleep(settle)  # let the grid/plot finish their first paint before the screenshot
        chromium.screenshot(out / f"{view}.png")
        doms[view] = chromium.dom()
    return doms


def showcase_queries(sources) -> dict:
    """URL queries that make the screenshots show something: an entry with a reproduction, two entries to compare."""
    from leaderboard import data

    df = data.frame(data.load(sources))
    rows, _ = data.board_rows(df, data.Filters())
    queries = {}
    reproduced = rows[rows["reproductions"] > 0]
    if not reproduced.empty:
        queries["entry"] = f"id={reproduced.iloc[0]['id']}"
    if not rows.empty:
        track, target = rows.iloc[0]["track"], rows.iloc[0]["target"]
        pair = data.ranked(rows[(rows["track"] == track) & (rows["target"] == target)]).head(2)
        if len(pair) == 2:
            queries["compare"] = "&".join(f"ids={i}" for i in pair["id"])
    return queries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the leaderboard's views (docs/img/<view>.png).")
    parser.add_argument("--store", action="append", default=[],
                        help="local record store (repeatable; default: none, only the published records)")
    parser.add_argument("--published", default=None)
    parser.add_argument("--no-published", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--views", default=",".join(SCREENSHOT_VIEWS))
    parser.add_argument("--settle", type=float, default=8.0, help="seconds to let widgets and grids paint")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args(argv)
    binary = find_chromium()
    if not binary:
        print("no chromium found; run `python tests/setup_test_env.py` (as root) or set SLIMBENCH_CHROMIUM",
              file=sys.stderr)
        return 2
    from leaderboard import data

    with tempfile.TemporaryDirectory(prefix="slimbench-screenshots-") as scratch:
        stores = args.store or [str(Path(scratch) / "no-local-store")]
        app_args = [a for store in stores for a in ("--store", str(Path(store).resolve()))]
        app_args += ["--no-published"] if args.no_published else (["--published", args.published] if args.published else [])
        sources = data.resolve_sources(stores, args.published, args.no_published)
        env = {"SLIMBENCH_LEADERBOARD_INDEX": str(Path(scratch) / "index.duckdb")}
        views = [v for v in args.views.split(",") if v]
        with serve(app_args, env=env, timeout=600) as base, \
                Chromium(binary, args.width, args.height, timeout=600) as chromium:
            capture_views(base, chromium, args.out, timeout=600, settle=args.settle, views=views,
                          queries=showcase_queries(sources))
    print(f"wrote {', '.join(str(args.out / f'{v}.png') for v in views)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
