"""`botengine dlq list | show | replay | drop`: the dead-letter queue from the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from botengine.config import Settings
from botengine.dlq import headline, progress, replay
from botengine.errors import BotengineError
from botengine.storage import Storage, open_storage


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser("dlq", help="the dead-letter queue: list, show, replay, drop")
    dlq.add_argument("--data-dir", default=None, help="the engine's data directory")
    verbs = dlq.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="one line per entry")
    show = verbs.add_parser("show", help="an entry in full (JSON)")
    show.add_argument("id")
    for name, help_text in (("replay", "run entries again"), ("drop", "forget entries")):
        verb = verbs.add_parser(name, help=help_text)
        verb.add_argument("ids", nargs="*", help="entry ids")
        verb.add_argument("--all", action="store_true", help="every entry")
    dlq.set_defaults(run=cmd_dlq)


def cmd_dlq(args: argparse.Namespace) -> int:
    storage = open_storage(Settings.load({"data_dir": args.data_dir}))

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
    act = replay if args.verb == "replay" else _drop
    missing = 0
    for done, entry_id in enumerate(ids, 1):
        missing += not await act(storage, entry_id)
        progress(done, len(ids))
    verb = "queued for replay" if args.verb == "replay" else "dropped"
    print(f"{len(ids) - missing} {verb}" + (f", {missing} not found" if missing else ""), file=sys.stderr)
    if args.verb == "replay" and len(ids) > missing:
        print("the engine runs them within a second (or as soon as it starts)", file=sys.stderr)
    return 1 if missing else 0


async def _chosen(storage: Storage, ids: Sequence[str], every: bool) -> list[str]:
    if every:
        return [entry_id for entry_id, _ in await storage.dlq_list()]
    if not ids:
        raise BotengineError("name the entries (ids from `botengine dlq list`) or give --all")
    return list(ids)


async def _drop(storage: Storage, entry_id: str) -> bool:
    return await storage.dlq_remove(entry_id)
