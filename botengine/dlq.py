"""The dead-letter queue: what failed for good, and running it again once the cause is fixed.

The command (botengine/commands/dlq.py) and the dashboard both use what is here:

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

import logging
import sys
import time
import traceback
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
