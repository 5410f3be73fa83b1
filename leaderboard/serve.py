"""Serve the leaderboard: `streamlit run leaderboard/app.py`, plus a preload that refreshes the index and builds
the board's frame as the server starts (in a background thread of the server process), instead of when the
first visitor's page asks for it. A cold index starts building at once; a warm start has its frame ready
by the time a browser has loaded Streamlit's page.

    python -m leaderboard.serve [streamlit run options] -- [--store DIR ...] [--published DIR | --no-published]

`slimbench leaderboard`, the browser tests, the screenshots and the benchmark all start the board this way."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def preload(app_args: list[str]) -> None:
    """Refresh the index and build the frame for the stores the app will show. Any problem is left for the
    page to report (it does the same work and shows the error)."""
    try:
        from leaderboard import data, live
        from leaderboard.app import parse_args

        args = parse_args(app_args)
        live.board(data.resolve_sources(args.store, args.published, args.no_published)).frame()
    except Exception:  # noqa: BLE001 — the first page view does it again and says what went wrong
        pass


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    app_args = argv[argv.index("--") + 1:] if "--" in argv else []
    threading.Thread(target=preload, args=(app_args,), name="slimbench-preload", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
