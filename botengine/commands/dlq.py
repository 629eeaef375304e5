"""`botengine dlq list | show | replay | drop`: the dead-letter queue from the command line.

`replay` waits (up to --wait) for the engine to run the replays, with a bar counting those that
finished, then says how each went: worked, failed again (with the new error), still retrying.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from botengine.config import Settings
from botengine.dlq import ReplayState, ReplayWatch, headline
from botengine.durations import parse_duration
from botengine.errors import BotengineError
from botengine.storage import Storage, open_storage

DATA_DIR_HELP = "the engine's data directory (default: $BOTENGINE_DATA_DIR or .botengine-data)"
STALL = 10.0  # seconds without a single replay taken: the engine is not running (or runs no jobs)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser("dlq", help="the dead-letter queue: list, show, replay, drop")
    dlq.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    verbs = dlq.add_subparsers(dest="verb", required=True)
    # --data-dir after the verb too (`dlq list --data-dir X`); SUPPRESS keeps the one given before
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", default=argparse.SUPPRESS, help=DATA_DIR_HELP)
    verbs.add_parser("list", help="one line per entry", parents=[data_dir])
    show = verbs.add_parser("show", help="an entry in full (JSON)", parents=[data_dir])
    show.add_argument("id")
    replay = verbs.add_parser("replay", help="run entries again and say how it went", parents=[data_dir])
    drop = verbs.add_parser("drop", help="forget entries", parents=[data_dir])
    for verb in (replay, drop):
        verb.add_argument("ids", nargs="*", help="entry ids")
        verb.add_argument("--all", action="store_true", help="every entry")
    replay.add_argument(
        "--wait",
        type=parse_duration,
        default=60.0,
        help="how long to wait for the engine to run them (default 60s; 0: queue them and return)",
    )
    dlq.set_defaults(run=cmd_dlq)


def cmd_dlq(args: argparse.Namespace) -> int:
    storage = open_storage(Settings.load({"data_dir": args.data_dir}), existing=True)

    async def main() -> int:
        try:
            return await _run_verb(storage, args)
        finally:
            await storage.close()

    return asyncio.run(main())


async def _run_verb(storage: Storage, args: argparse.Namespace) -> int:
    if args.verb == "list":
        entries = await storage.dlq_list()
        for entry_id, entry in entries:
            print(headline(entry_id, entry))
        print(f"{len(entries)} dead letter(s)", file=sys.stderr)
        return 0
    if args.verb == "show":
        found = await storage.dlq_get(args.id)
        if found is None:
            print(f"no dead letter {args.id}", file=sys.stderr)
            return 1
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    ids = await _chosen(storage, args.ids, args.all)
    if args.verb == "drop":
        dropped = sum([await storage.dlq_remove(entry_id) for entry_id in ids])
        missing = len(ids) - dropped
        print(f"{dropped} dropped" + (f", {missing} not found" if missing else ""), file=sys.stderr)
        return 1 if missing else 0
    return await _replay(storage, ids, args.wait)


async def _chosen(storage: Storage, ids: Sequence[str], every: bool) -> list[str]:
    if every:
        return [entry_id for entry_id, _ in await storage.dlq_list()]
    if not ids:
        raise BotengineError("name the entries (ids from `botengine dlq list`) or give --all")
    return list(ids)


async def _replay(storage: Storage, ids: list[str], wait: float) -> int:
    watch = await ReplayWatch.start(storage, ids)
    missing = len(ids) - len(watch.entries)
    if missing:
        print(f"{missing} not found (ids from `botengine dlq list`)", file=sys.stderr)
    if not watch.entries:
        return 1
    if wait <= 0:
        print(
            f"{len(watch.entries)} queued for replay: the engine runs them within a second", file=sys.stderr
        )
        return 1 if missing else 0
    states = await _wait_for(storage, watch, wait)
    return _report(states) or (1 if missing else 0)


async def _wait_for(storage: Storage, watch: ReplayWatch, wait: float) -> dict[str, tuple[ReplayState, str]]:
    """Poll the store until every replay finished, none is taken for STALL seconds, or `wait` ends."""
    started = time.monotonic()
    total = len(watch.entries)
    while True:
        states = await watch.states(storage)
        finished = sum(state in ("worked", "failed") for state, _ in states.values())
        progress(finished, total)
        elapsed = time.monotonic() - started
        untouched = all(state == "waiting" for state, _ in states.values())
        if finished == total or elapsed >= wait or (untouched and elapsed >= STALL):
            if finished < total:
                progress(total, total, label=f"{finished}/{total} finished")
            return states
        await asyncio.sleep(0.25)


def _report(states: dict[str, tuple[ReplayState, str]]) -> int:
    """Say how the replays went; 0 when every one worked."""
    counts = Counter(state for state, _ in states.values())
    out = sys.stderr
    if counts["worked"]:
        print(f"{counts['worked']} worked", file=out)
    for entry_id, (state, detail) in states.items():
        if state == "failed":
            print(f"failed again: {entry_id}: {detail} (a new dead letter holds it)", file=out)
    if counts["retrying"]:
        print(f"{counts['retrying']} failed and will be retried: see `botengine dlq list` later", file=out)
    if counts["waiting"]:
        print(
            f"{counts['waiting']} not run yet: is the engine running (and not in --dry-run, which runs "
            "no jobs)? They run as soon as it does.",
            file=out,
        )
    return 0 if counts["worked"] == len(states) else 1


def progress(done: int, total: int, out: TextIO | None = None, width: int = 30, label: str = "") -> None:
    """A one-line progress bar, redrawn in place on a terminal, printed once at the end otherwise."""
    out = out or sys.stderr
    if not out.isatty() and done < total:
        return
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {label or f'{done}/{total}'}{end}")
    out.flush()
