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
from datetime import UTC, datetime
from typing import TextIO

from botengine.errors import RecordError, StorageError
from botengine.jobs import ActionLetter, EventLetter, JobLetter, RunJob, decode_letter, encode
from botengine.storage import Job, Storage
from botengine.types import JSONDict

log = logging.getLogger(__name__)


async def record_crash(storage: Storage, letter: EventLetter | JobLetter) -> None:
    """Dead-letter something that crashed (the letter holds the error); never raises.

    For the last-resort paths (a processor or a job that blew up): failing to write the letter
    is logged, since there is nowhere further to send it.
    """
    try:
        await storage.dlq_add(encode(letter))
    except StorageError:
        what = letter.event_id if isinstance(letter, EventLetter) else letter.job_id
        log.exception("cannot write the dead letter for %s", what)


def replay_job(entry_id: str, entry: JSONDict) -> Job:
    """The job that runs a dead letter again."""
    letter = decode_letter(entry)
    data: JSONDict
    if isinstance(letter, ActionLetter):
        # a fresh start; a follow-up runs regardless
        plan = letter.plan.model_copy(update={"attempts": {}, "errors": {}, "unless": []})
        data = encode(RunJob(plan=plan))
    elif isinstance(letter, EventLetter):
        data = encode(letter.requeue())
    else:
        data = dict(letter.data)
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
    stamp = entry_id.split("-", 1)[0]
    when = (
        datetime.fromtimestamp(int(stamp) / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")
        if stamp.isdigit()
        else "?"
    )
    try:
        letter = decode_letter(entry)
    except RecordError as exc:
        return f"{entry_id}  {when}  {exc}"
    if isinstance(letter, ActionLetter):
        what = f"rule {letter.rule} → {letter.action} (event {letter.event_id})"
    elif isinstance(letter, EventLetter):
        what = f"event {letter.event_id} ({letter.event_type})"
    else:
        what = f"job {letter.job_id.replace(chr(31), ' ')}"
    return f"{entry_id}  {when}  {what}: {letter.last_error[:160]}"


def progress(done: int, total: int, out: TextIO | None = None, width: int = 30) -> None:
    """A one-line progress bar, redrawn in place on a terminal, printed once at the end otherwise."""
    out = out or sys.stderr
    if not out.isatty() and done < total:
        return
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
    out.flush()
