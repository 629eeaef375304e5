"""The dead-letter queue: what failed for good, and running it again once the cause is fixed.

The command (botengine/commands/dlq.py) and the dashboard both use what is here:

    botengine dlq list                   one line per entry: id, rule/action, last error
    botengine dlq show ID                everything: the event, the rendered parameters, every error
    botengine dlq replay ID… | --all     run again, and say whether it worked (ReplayWatch)
    botengine dlq drop ID… | --all       forget entries

Three kinds of entries: an `action` that ran out of retries or failed for good (replayed from
that action on: the actions before it are not repeated), an `event` whose processing crashed
(queued again, past the dedupe window), a `job` that crashed (scheduled again). A replay is a
job in the store, so it runs in the engine (now, or when it next starts), not in the command;
ReplayWatch reads its outcome back from the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from botengine.errors import RecordError
from botengine.jobs import (
    ActionLetter,
    EventLetter,
    RunJob,
    Uncertain,
    decode_ledger,
    decode_letter,
    encode,
    ledger_key,
)
from botengine.storage import Job, Storage
from botengine.types import JSONDict

log = logging.getLogger(__name__)


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
    """Schedule a dead letter to run again and remove it; False when there is no such entry.

    An action set aside as uncertain runs again too: replaying it is the person's decision that
    it did not happen (or that a repeat is fine), so its mark in the ledger goes.
    """
    entry = await storage.dlq_get(entry_id)
    if entry is None:
        return False
    job = replay_job(entry_id, entry)
    letter = decode_letter(entry)
    if isinstance(letter, ActionLetter):
        slot = ledger_key(letter.session, letter.event_id, letter.rule, letter.index)
        if isinstance(decode_ledger(await storage.get(slot)), Uncertain):
            await storage.delete(slot)
    await storage.schedule(job)
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


# --- what became of a replay -------------------------------------------------------------------

ReplayState = Literal["waiting", "retrying", "worked", "failed"]


@dataclass(frozen=True)
class ReplayWatch:
    """Dead letters sent to run again, and what became of each, read from the store.

    A replay is a job the engine runs; its outcome shows in the store: the job gone and nothing
    new (worked), a new dead letter for the same event (failed again), a retry job pending for the
    same event (retrying), or the job still there (waiting: the engine has not run it yet).
    """

    entries: dict[str, JSONDict]  # replayed entry id → the entry as it was
    before: frozenset[str]  # dead letters that existed when the replays were queued

    @classmethod
    async def start(cls, storage: Storage, ids: Sequence[str]) -> ReplayWatch:
        """Replay `ids` (those that exist) and watch them."""
        before = frozenset(entry_id for entry_id, _ in await storage.dlq_list())
        entries = {}
        for entry_id in ids:
            entry = await storage.dlq_get(entry_id)
            if entry is not None and await replay(storage, entry_id):
                entries[entry_id] = entry
        return cls(entries, before)

    async def states(self, storage: Storage) -> dict[str, tuple[ReplayState, str]]:
        """Each replayed entry's state, and a detail (the new error, for one that failed again)."""
        pending = [job.id for job in await storage.jobs()]
        fresh = [(i, e) for i, e in await storage.dlq_list() if i not in self.before]
        settled = storage.queue_depth() == 0  # a replayed event is processed once the queue drains
        states: dict[str, tuple[ReplayState, str]] = {}
        for entry_id, entry in self.entries.items():
            same = f"\x1f{entry.get('session')}\x1f{entry.get('event_id')}\x1f"
            again = [e for _, e in fresh if _same_event(e, entry)]
            if f"replay\x1f{entry_id}" in pending:
                states[entry_id] = ("waiting", "")
            elif again:
                states[entry_id] = ("failed", _last_error(again[-1]))
            elif any(same in job_id for job_id in pending):
                states[entry_id] = ("retrying", "")
            elif entry.get("kind") == "event" and not settled:
                states[entry_id] = ("waiting", "")
            else:
                states[entry_id] = ("worked", "")
        return states


def _last_error(entry: JSONDict) -> str:
    try:
        return decode_letter(entry).last_error
    except RecordError as exc:
        return str(exc)


def _same_event(new: JSONDict, old: JSONDict) -> bool:
    same = all(new.get(k) == old.get(k) for k in ("session", "event_id"))
    return same and (old.get("kind") != "action" or new.get("rule") == old.get("rule"))
