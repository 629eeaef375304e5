"""`botengine docs`: regenerate the documentation generated from the code (what `scripts/docs` runs)."""

from __future__ import annotations

import argparse

from botengine.docs import ROOT, regenerate


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    docs = sub.add_parser("docs", help="regenerate the generated documentation (in a checkout)")
    docs.set_defaults(run=cmd_docs)


def cmd_docs(args: argparse.Namespace) -> int:
    for written in regenerate(ROOT):
        print(f"updated {written}")
    return 0
