"""`botengine codes`: list the discount campaigns, or list / export one campaign's issued codes."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys

from botengine.actions.discount import campaigns, issued_codes
from botengine.config import Settings
from botengine.storage import open_storage


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    codes = sub.add_parser("codes", help="list or export the discount codes issued")
    codes.add_argument("campaign", nargs="?", help="the campaign (default: list the campaigns)")
    codes.add_argument("--csv", action="store_true", help="CSV on standard output, for spreadsheets")
    codes.add_argument("--data-dir", default=None, help="the engine's data directory")
    codes.set_defaults(run=cmd_codes)


def cmd_codes(args: argparse.Namespace) -> int:
    storage = open_storage(Settings.load({"data_dir": args.data_dir}), existing=True)

    async def main() -> int:
        try:
            if not args.campaign:
                for name in await campaigns(storage):
                    print(name)
                return 0
            records = await issued_codes(storage, args.campaign)
        finally:
            await storage.close()
        if args.csv:
            fields = ["code", "recipient", "issued_at", "expires_at", "session", "event_id"]
            writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
        else:
            for r in records:
                print(f"{r['code']}\t{r['recipient']}\t{r['issued_at']}\texpires {r['expires_at'] or '-'}")
            print(f"{len(records)} code(s) issued for {args.campaign}", file=sys.stderr)
        return 0

    return asyncio.run(main())
