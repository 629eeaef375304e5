"""The dead-letter queue: what failed for good, and running it again once the cause is fixed.

    botengine dlq list                   one line per entry: id, rule/action, last error
    botengine dlq show ID                everything: the event, the rendered parameters, every error
    botengine dlq replay ID… | --all     run again (a progress bar for many); dedupe does not block it
    botengine dlq drop ID… | --all       forget entries

Three kinds of entries: an `action` that ran out of retries or failed for good (replayed from
that action on: the actions before it are not repeated), an `event` whose processing crashed
(queued again, past the dedupe window), a `job` that crashed (scheduled again). A replay is a
job in the store, so it runs in the engine (now, or when it next starts), not in this command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from botengine.errors import BotengineError, StorageError
from botengine.storage import Job, Storage
from botengine.types import JSONDict

log = logging.getLogger(__name__)


async def record_crash(storage: Storage, entry: JSONDict, exc: Exception) -> None:
    """Dead-letter something that crashed, with the error and its traceback; never raises.

    For the last-resort paths (a processor or a job that blew up): failing to write the letter
    is logged, since there is nowhere further to send it.
    """
    entry = {
        **entry,
        "errors": [{"at": time.time(), "error": f"{type(exc).__name__}: {exc}"}],
        "traceback": traceback.format_exc(limit=8),
    }
    try:
        await storage.dlq_add(entry)
    except StorageError:
        log.exception("cannot write the dead letter for %s", entry.get("event_id") or entry.get("job_id"))


def replay_job(entry_id: str, entry: JSONDict) -> Job:
    """The job that runs a dead letter again."""
    kind = entry.get("kind")
    if kind == "action":
        plan = dict(entry["plan"])
        plan.update(attempts={}, errors={}, unless=[])  # a fresh start; a follow-up runs regardless
        data: JSONDict = {"type": "run", "plan": plan}
    elif kind == "event":
        data = {
            "type": "requeue",
            **{k: entry.get(k, "") for k in ("session", "event_id", "event_type", "chat", "event")},
        }
    elif kind == "job":
        data = dict(entry["data"])
    else:
        raise BotengineError(f"dead letter {entry_id} is of an unknown kind {kind!r}")
    return Job(f"replay\x1f{entry_id}", time.time(), data)


async def replay(storage: Storage, entry_id: str) -> bool:
    """Schedule a dead letter to run again and remove it; False when there is no such entry."""
    entry = await storage.dlq_get(entry_id)
    if entry is None:
        return False
    await storage.schedule(replay_job(entry_id, entry))
    await storage.dlq_remove(entry_id)
    return True


def headline(entry_id: str, entry: JSONDict) -> str:
    """One line: id, when, what, the last error."""
    errors = entry.get("errors") or [{}]
    last = str(errors[-1].get("error", ""))[:160]
    stamp = entry_id.split("-", 1)[0]
    when = (
        datetime.fromtimestamp(int(stamp) / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
        if stamp.isdigit()
        else "?"
    )
    if entry.get("kind") == "action":
        what = f"rule {entry.get('rule')} → {entry.get('action')} (event {entry.get('event_id')})"
    elif entry.get("kind") == "event":
        what = f"event {entry.get('event_id')} ({entry.get('event_type')})"
    else:
        what = f"job {str(entry.get('job_id', '')).replace(chr(31), ' ')}"
    return f"{entry_id}  {when}  {what}: {last}"


def progress(done: int, total: int, out: TextIO | None = None, width: int = 30) -> None:
    """A one-line progress bar, redrawn in place on a terminal, printed once at the end otherwise."""
    out = out or sys.stderr
    if not out.isatty() and done < total:
        return
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
    out.flush()


# --- the command ---------------------------------------------------------------------------------


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
    from botengine.app import open_storage
    from botengine.config import Settings

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
