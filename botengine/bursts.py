"""Bursts: the messages a quiet window (`debounce:`) holds, kept in the store until it ends.

    hold    lock the slot ─► the open burst (or a new one) takes the message ─► a job due when the
            window would end after it (each message re-arms it, never past the first's max wait)
    close   (the job) lock the slot ─► is its message still the latest? the slot lets go of the
            burst ─► the caller answers it: its actions go through the ledger, keyed by burst id
    done    the burst keeps only its messages' ids, for a day, so a redelivered event knows

A slot is one chat (one person, in a group), event type and window; it holds its open burst's
id. The burst itself is kept by id, so the slot lets go of it in one write (closing) while the
burst stays until answered. A message is marked held (by event id) before it joins a burst, so a
redelivered event finds the burst that has it rather than starting another. A crash between any
two steps leaves a job that runs again, or an event that is delivered again: nothing held is
lost, nothing answered twice (tests/conversation/test_debounce_restart.py kills the process).

Each step on a slot runs under a lock (add-if-absent with a time limit, taken over at once from
a dead process): the worker holds messages while the scheduler closes bursts.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pydantic import BaseModel, Field

from botengine.events import EventView
from botengine.jobs import BurstJob, Record, burst_job_id, encode
from botengine.quiet import QuietWindow
from botengine.storage import Job, Storage
from botengine.storage.keys import key

MAX_MESSAGES = 50  # a burst this long is answered at once: a flood is not a conversation
MAX_CHARACTERS = 65536  # nor is this much text (WhatsApp's longest message); the record stays small
KEEP_OPEN = 30 * 86400.0  # a burst waits this long for its answer (an engine down for days)
KEEP_DONE = 86400.0  # an answered burst's ids, and a held mark, are kept this long
LOCK_SECONDS = 10.0  # a lock outlives a stalled holder this long at most
LOCK_POLL = 0.005


class HeldMessage(BaseModel):
    event_id: str
    message_id: str | None
    text: str
    time: str  # ISO 8601, UTC


class Burst(Record):
    """A burst: its messages, oldest first, and the latest one's event as received."""

    id: str
    slot: str
    wait: float
    longest: float
    first: float  # when its first message was held (epoch seconds)
    due: float  # when it is answered unless another message comes
    seq: int = 0  # messages held so far: the job of the latest answers it
    messages: list[HeldMessage] = Field(default_factory=list)
    last: str = ""  # the latest message's event, as received: the burst is answered as it
    done: bool = False
    rules: list[str] = Field(default_factory=list)  # the rules that held it: they answer it

    @property
    def window(self) -> QuietWindow:
        return QuietWindow(wait=self.wait, max=self.longest)


def slot_of(view: EventView, window: QuietWindow) -> str:
    """One chat's (in a group, one sender's) burst of one event type, for one window."""
    sender = view.sender.id if view.chat.kind == "group" and view.sender else ""
    return "\x1f".join(
        (view.session, view.chat.id, sender, view.type, f"{window.wait:g}", f"{window.longest:g}")
    )


class Bursts:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def hold(
        self,
        slot: str,
        view: EventView,
        body: bytes,
        window: QuietWindow,
        now: float | None = None,
        rules: Sequence[str] = (),
    ) -> Burst:
        """Add the message of `view` to its slot's burst (idempotent by event id); its job armed.

        `now` is the time the rules see (epoch seconds; a rehearsal's clock runs ahead): the
        burst's times are in it, and its job falls due as long after the real now."""
        mark = key("quiet", "held", view.session, view.id)
        async with self._locked(slot):
            known = await self.storage.get(mark)
            burst = await self.get(known) if isinstance(known, str) else None
            if burst is not None and any(m.event_id == view.id for m in burst.messages):
                if not burst.done:
                    await self._arm(burst)  # a redelivery after a crash before the job was stored
                return burst
            now = time.time() if now is None else now
            burst = await self._open(slot, window, now)
            await self.storage.put(mark, burst.id, ttl=KEEP_DONE)
            burst.messages.append(_held(view))
            burst.seq, burst.last = burst.seq + 1, body.decode("utf-8")
            burst.rules = sorted({*burst.rules, *rules})
            burst.due = min(now + burst.wait, burst.first + burst.longest)
            if (
                len(burst.messages) >= MAX_MESSAGES
                or sum(len(m.text) for m in burst.messages) >= MAX_CHARACTERS
            ):
                burst.due = now
            await self.storage.put(_burst_key(burst.id), encode(burst), ttl=KEEP_OPEN)
            if burst.seq == 1:
                await self.storage.put(_slot_key(slot), burst.id, ttl=KEEP_OPEN)
            await self._arm(burst, now)
        return burst

    async def close(self, job: BurstJob) -> Burst | None:
        """The burst to answer now, or None: re-armed by a later message, or answered already."""
        if not _answers(await self.get(job.burst), job):
            return None  # without the lock: a job once re-armed past, or answered, stays so
        async with self._locked(job.slot):
            burst = await self.get(job.burst)
            if burst is None or not _answers(burst, job):
                return None
            if await self.storage.get(_slot_key(job.slot)) == burst.id:
                await self.storage.delete(_slot_key(job.slot))  # the next message starts a new burst
        return burst

    async def done(self, burst: Burst) -> None:
        """Answered: keep who was in it (a redelivery must not start a burst again), not the event."""
        kept = burst.model_copy(update={"done": True, "last": ""})
        await self.storage.put(_burst_key(burst.id), encode(kept), ttl=KEEP_DONE)

    async def get(self, burst_id: str) -> Burst | None:
        data = await self.storage.get(_burst_key(burst_id))
        return Burst.model_validate(data) if isinstance(data, dict) else None

    async def _open(self, slot: str, window: QuietWindow, now: float) -> Burst:
        current = await self.storage.get(_slot_key(slot))
        burst = await self.get(current) if isinstance(current, str) else None
        if burst is not None and not burst.done:
            return burst
        burst_id = f"burst-{secrets.token_hex(8)}"
        return Burst(id=burst_id, slot=slot, wait=window.wait, longest=window.longest, first=now, due=now)

    async def _arm(self, burst: Burst, now: float | None = None) -> None:
        record = BurstJob(burst=burst.id, slot=burst.slot, seq=burst.seq)
        due = burst.due if now is None else time.time() + burst.due - now  # the real clock's
        await self.storage.schedule(Job(burst_job_id(burst.id, burst.seq), due, encode(record)))

    @asynccontextmanager
    async def _locked(self, slot: str) -> AsyncIterator[None]:
        lock = key("quiet", "lock", slot)
        while not await self.storage.add(lock, self.storage.instance, ttl=LOCK_SECONDS):
            holder = await self.storage.get(lock)
            if (
                isinstance(holder, str)
                and holder != self.storage.instance
                and not await self.storage.alive(holder)
            ):
                await self.storage.delete(lock)  # its process died holding it: no need to wait it out
                continue
            await asyncio.sleep(LOCK_POLL)
        try:
            yield
        finally:
            await self.storage.delete(lock)


def _answers(burst: Burst | None, job: BurstJob) -> bool:
    """Whether `job` is the one to answer `burst`: its latest message's, and not answered yet."""
    return burst is not None and not burst.done and burst.seq == job.seq


def _held(view: EventView) -> HeldMessage:
    return HeldMessage(
        event_id=view.id, message_id=view.message_id, text=view.text, time=view.time.isoformat()
    )


def _slot_key(slot: str) -> str:
    return key("quiet", "slot", slot)


def _burst_key(burst_id: str) -> str:
    return key("quiet", "burst", burst_id)
