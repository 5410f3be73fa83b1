"""slimbench leaderboard [--store DIR] [--port P]: serve the Streamlit leaderboard over the records
(leaderboard/serve.py: `streamlit run leaderboard/app.py` that starts indexing as the server starts)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def register(sub):
    p = sub.add_parser("leaderboard", help="serve the leaderboard (Streamlit) over published + local records")
    p.add_argument("--store", type=Path, action="append", default=None,
                   help="local record store (repeatable; default ./results)")
    p.add_argument("--published", type=Path, default=None,
                   help="published results directory (default leaderboard/results)")
    p.add_argument("--no-published", action="store_true", help="show only the local store(s)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1", help="interface to listen on (default: this machine only)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(func=run)


def streamlit_command(args) -> list[str]:
    app_args = []
    for store in args.store or []:
        app_args += ["--store", str(Path(store).resolve())]
    if args.no_published:
        app_args.append("--no-published")
    elif args.published:
        app_args += ["--published", str(Path(args.published).resolve())]
    # leaderboard.serve = `streamlit run leaderboard/app.py` that starts indexing as the server starts
    return [sys.executable, "-m", "leaderboard.serve",
            "--server.port", str(args.port), "--server.address", args.address,
            "--server.headless", "true" if args.headless else "false",
            # Streamlit's first run otherwise stops at a terminal prompt for an email address (and fails
            # outright when stdin is not a terminal), so `make run` would never reach the board.
            "--server.showEmailPrompt", "false",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer", "--", *app_args]


def run(args) -> int:
    import importlib.util

    from suite.errors import MissingExtraError

    for module in ("streamlit", "pandas", "plotly"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(module, "leaderboard")
    command = streamlit_command(args)
    print(f"leaderboard: http://{args.address}:{args.port}  (Ctrl-C to stop)", flush=True)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0
