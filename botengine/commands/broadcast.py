"""`botengine broadcast start | list | status | pause | resume | cancel`: campaigns by hand.

    botengine broadcast start --to customers.csv --session shop \\
        --text "Hi {{ person.name }}! This week: 20% off. Reply STOP to opt out." --watch
    botengine broadcast status 3f2a9c1b7e0d --watch       # a progress bar until it ends
    botengine broadcast pause 3f2a9c1b7e0d

The commands write to the engine's store (give --data-dir, or BOTENGINE_REDIS_URL, as for the
engine); the running engine sends the campaign within a second, paced like everything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from botengine import broadcasts
from botengine.actions.broadcast import DEFAULT_SUPPRESS
from botengine.audience import Person, read_audience, source_path
from botengine.broadcasts import Campaign, Progress
from botengine.commands.dlq import progress as progress_bar
from botengine.config import Settings
from botengine.errors import BotengineError
from botengine.storage import Storage, open_storage

ENDED = ("done", "cancelled")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "broadcast", help="broadcast campaigns: start, list, status, pause, resume, cancel"
    )
    parser.add_argument("--data-dir", default=None, help="the engine's data directory")
    verbs = parser.add_subparsers(dest="verb", required=True)
    start = verbs.add_parser("start", help="send a message to everyone on a list or CSV")
    start.add_argument(
        "--to", required=True, help="a list name (lists/NAME.txt) or a .csv file in the rules folder"
    )
    start.add_argument("--text", required=True, help="the message; {{ person.COLUMN }} reads a CSV's columns")
    start.add_argument("--session", required=True, help="the Wawp session (number) to send from")
    start.add_argument("--rules", default="rules", help="the rules folder the files are in (default: rules)")
    start.add_argument("--image", help="an image (link or file) sent with the text as caption")
    start.add_argument("--name", help="the campaign's name")
    start.add_argument("--suppress", action="append", help="a list file of people never to send to")
    start.add_argument("--uncertain", choices=("skip", "resend"), default="skip")
    start.add_argument("--watch", action="store_true", help="show progress until it ends")
    listing = verbs.add_parser("list", help="every campaign, newest first")
    listing.add_argument("--json", action="store_true")
    status = verbs.add_parser("status", help="one campaign's progress")
    status.add_argument("id")
    status.add_argument("--json", action="store_true")
    status.add_argument("--watch", action="store_true", help="a progress bar until it ends")
    for verb in ("pause", "resume", "cancel"):
        verbs.add_parser(verb, help=f"{verb} a campaign").add_argument("id")
    parser.set_defaults(run=cmd_broadcast)


def cmd_broadcast(args: argparse.Namespace) -> int:
    new = _new_campaign(args) if args.verb == "start" else None  # files are read before the store opens
    storage = open_storage(Settings.load({"data_dir": args.data_dir}))

    async def main() -> int:
        try:
            if new is not None:
                return await _start(storage, *new, watch=args.watch)
            return await _verb(storage, args)
        finally:
            await storage.close()

    return asyncio.run(main())


async def _verb(storage: Storage, args: argparse.Namespace) -> int:
    if args.verb == "list":
        shown = await broadcasts.campaigns(storage)
        for found in shown:
            print(json.dumps(found.as_dict()) if args.json else _line(found))
        if not args.json:
            print(f"{len(shown)} campaign(s)", file=sys.stderr)
        return 0
    if args.verb == "status":
        return await _status(storage, args.id, as_json=args.json, watch=args.watch)
    change = {"pause": broadcasts.pause, "resume": broadcasts.resume, "cancel": broadcasts.cancel}[args.verb]
    if not await change(storage, args.id):
        now = await broadcasts.progress(storage, args.id)
        why = f"it is {now.state}" if now else "no such campaign"
        print(f"cannot {args.verb} {args.id}: {why}", file=sys.stderr)
        return 1
    print(f"{args.id}: {args.verb}d" if args.verb != "cancel" else f"{args.id}: cancelled", file=sys.stderr)
    return 0


def _new_campaign(args: argparse.Namespace) -> tuple[Campaign, list[Person]]:
    folder = Path(args.rules)
    audience = read_audience(folder, args.to)
    for problem in audience.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    suppress = [source_path(folder, s) for s in args.suppress or []]
    if not suppress and (folder / DEFAULT_SUPPRESS).is_file():
        suppress = [DEFAULT_SUPPRESS]
    campaign = Campaign(
        id=broadcasts.campaign_id(f"command line {time.time()} {args.to}"),
        name=args.name or f"{args.to} {time.strftime('%Y-%m-%d %H:%M')}",
        session=args.session,
        text=args.text,
        image=args.image,
        folder=str(folder.resolve()),
        suppress=suppress,
        total=len(audience.people),
        uncertain=args.uncertain,
        origin="command line",
    )
    return campaign, audience.people


async def _start(storage: Storage, campaign: Campaign, people: list[Person], *, watch: bool) -> int:
    await broadcasts.create(storage, campaign, people)
    print(campaign.id)
    print(f"campaign {campaign.id}: {campaign.total} people; the engine sends it", file=sys.stderr)
    return await _status(storage, campaign.id, as_json=False, watch=True, quiet=True) if watch else 0


async def _status(storage: Storage, cid: str, *, as_json: bool, watch: bool, quiet: bool = False) -> int:
    while True:
        found = await broadcasts.progress(storage, cid)
        if found is None:
            raise BotengineError(f"no campaign {cid} (ids: botengine broadcast list)")
        if not watch or found.state != "running":
            break
        progress_bar(found.done, found.campaign.total, label=_counts(found))
        await asyncio.sleep(0.5)
    if watch:
        progress_bar(found.campaign.total, found.campaign.total, label=_counts(found))
    if not quiet or not watch:
        print(json.dumps(found.as_dict()) if as_json else _line(found))
    return 0 if found.state != "paused" or not watch else 1


def _counts(found: Progress) -> str:
    return (
        f"{found.state}: sent {found.sent}, skipped {found.skipped}, failed {found.failed}, "
        f"uncertain {found.uncertain}, left {found.left}"
    )


def _line(found: Progress) -> str:
    reason = f" ({found.reason})" if found.reason else ""
    return f"{found.campaign.id}  {found.campaign.name}  {_counts(found)}{reason}"
