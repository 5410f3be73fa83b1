"""`slimbench` command line. Each subcommand lives in suite/commands/<name>.py with register(subparsers)."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from suite.errors import SlimBenchError

COMMAND_MODULES = [
    "suite.commands.listing",
    "suite.commands.run",
    "suite.commands.show",
    "suite.commands.describe",
    "suite.commands.bench",
    "suite.commands.train",
    "suite.commands.leaderboard",
    "suite.commands.index",
    "suite.commands.publish",
    "suite.commands.reproduce",
    "suite.commands.submit",
    "suite.commands.ingest",
    "suite.commands.between_runs",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slimbench", description="Benchmark neural-network compression methods "
                                     "on fixed tracks and real deployment runtimes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TF-MOT needs tf-keras; set before any TF import
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SlimBenchError as exc:
        print(f"slimbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("slimbench: interrupted (records already written are intact)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `slimbench show ID | head`: the reader left; exit quietly
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not report the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
