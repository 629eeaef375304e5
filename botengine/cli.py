"""The command line: `botengine serve | …`. The only place that turns errors into exit codes.

The commands themselves live in botengine/commands/, one module per group.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from botengine import __version__
from botengine.commands import COMMAND_MODULES
from botengine.errors import BotengineError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botengine", description="A rule-based WhatsApp bot engine for Wawp."
    )
    parser.add_argument("--version", action="version", version=f"botengine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BotengineError as exc:
        print(f"botengine: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
