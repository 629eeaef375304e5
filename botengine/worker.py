"""The worker: takes events off the queue, keeps each chat in order, hands them to the processor.

Events of one chat (one session's conversation) are processed one at a time, in arrival order;
different chats proceed concurrently, `concurrency` runners taking turns over them. An event that
takes long (an action waiting for a slow API) is left to finish on its own after `park_after`
seconds, still holding its chat, so slow chats never take all the runners. An event is
acknowledged only after its outcome is recorded, so one that was in flight when the process died
is processed again after a restart (the action ledger keeps its effects single).

Accepted means processed. A store that fails (a full disk, Redis restarting) stops nothing for
good: taking, processing, dead-lettering and acknowledging are each tried again until the store
works (storage/health.py), and an event is never acknowledged before its outcome is recorded.

A processor that raises does not stop the worker: the event goes to the dead-letter queue with
the error, to be replayed once the cause is fixed. Nor does an event whose processing kills the
process (out of memory, a crash in a library): the store counts the crashes that happened while
it was being processed (`Delivery.crashes`), and after CRASH_LIMIT of them the event is
quarantined, dead-lettered with the reason instead of processed again, so a restart never hangs
on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Literal

from botengine.errors import BudgetExceededError
from botengine.jobs import EventLetter, encode
from botengine.metrics import Metrics
from botengine.storage import Delivery, Incoming, Storage
from botengine.storage.health import StoreHealth

log = logging.getLogger(__name__)

_YIELD_EVERY = 0.0005  # seconds a runner may keep the event loop to itself
CRASH_LIMIT = 2  # crashes of the process while an event was being processed before it is set aside
# Outcomes of events no rule acted on: not logged with log_events="acted" (a line costs ~13 µs of
# CPU, a sixth of such an event's whole cost; docs/benchmarks.md)
_QUIET_OUTCOMES = frozenset({"no_match", "logged"})

Processor = Callable[[Incoming], Awaitable[object]]
"""Processes one event; what it returns is logged as the event's outcome."""


async def log_processor(event: Incoming) -> str:
    """The processing hook before any rules: one structured line per event."""
    return "logged"


class Worker:
    """A fixed set of runners sharing per-chat lanes.

    A lane is a chat's queue of taken events. A lane waiting for a runner is in `_ready`; a
    runner takes one event from it, and puts the lane back at the end of `_ready` if it has more
    (chats take turns), so no lane is ever worked on by two runners at once.
    """

    def __init__(
        self,
        storage: Storage,
        processor: Processor,
        metrics: Metrics,
        *,
        concurrency: int = 64,
        poll: float = 0.5,
        park_after: float = 0.5,
        log_events: Literal["all", "acted", "none"] = "all",
        health: StoreHealth | None = None,
    ) -> None:
        self.storage = storage
        self.processor = processor
        self.metrics = metrics
        self.health = health or StoreHealth(metrics.count_store_error)
        self.concurrency = max(1, concurrency)
        self.max_parked = 16 * self.concurrency
        self.prefetch = max(256, self.max_parked + 4 * self.concurrency)  # taken, not yet acknowledged
        self.poll = poll
        self._lanes: dict[tuple[str, str], deque[Delivery]] = {}
        self._ready: deque[tuple[str, str]] = deque()
        self._work_arrived = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._idle = asyncio.Event()
        self._taken = 0
        self._busy = 0
        self._last_yield = 0.0
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()  # events being processed, parked or not
        self.park_after = park_after
        self.log_events = log_events  # which events get an `event processed` line

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._take_loop(), name="botengine-take")]
        self._tasks += [
            asyncio.create_task(self._runner(), name=f"botengine-runner-{i}") for i in range(self.concurrency)
        ]

    @property
    def in_flight(self) -> int:
        """Events taken off the queue and not yet acknowledged."""
        return self._taken

    async def _take_loop(self) -> None:
        while not self._stopping:
            free = self.prefetch - self._taken
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            take = functools.partial(self.storage.take, free, self.poll)
            deliveries = await self.health.retry("take", take)
            for delivery in deliveries:
                self._dispatch(delivery)

    def _dispatch(self, delivery: Delivery) -> None:
        event = delivery.event
        # events without a chat need no ordering: give each its own lane
        lane_key = (event.session, event.chat or "\x00" + event.event_id)
        self._taken += 1
        lane = self._lanes.get(lane_key)
        if lane is not None:
            lane.append(delivery)  # its runner (or its place in _ready) will get to it
            return
        self._lanes[lane_key] = deque([delivery])
        self._ready.append(lane_key)
        self._work_arrived.set()

    async def _runner(self) -> None:
        while not self._stopping:
            while not self._ready:
                self._work_arrived.clear()
                await self._work_arrived.wait()
            lane_key = self._ready.popleft()
            self._busy += 1
            self._idle.clear()
            task = asyncio.ensure_future(self._process(self._lanes[lane_key][0]))
            self._running.add(task)
            task.add_done_callback(lambda t, k=lane_key: self._lane_step_done(t, k))  # type: ignore[misc]
            # A slow event (an action waiting on a timeout) keeps its own chat waiting, not this
            # runner: past `park_after` the runner leaves it to finish alone and takes other chats.
            parkable = len(self._running) <= self.max_parked
            await asyncio.wait({task}, timeout=self.park_after if parkable else None)
            # A processor that never waits would run lane after lane without giving the
            # receiver a turn; yield now and then so requests keep their latency.
            now = time.perf_counter()
            if now - self._last_yield > _YIELD_EVERY:
                self._last_yield = now
                await asyncio.sleep(0)

    def _lane_step_done(self, task: asyncio.Task[None], lane_key: tuple[str, str]) -> None:
        """The first event of a lane finished: acknowledge-side bookkeeping, then its next event."""
        self._running.discard(task)
        self._busy -= 1
        if not self._busy:
            self._idle.set()
        if task.cancelled():
            return  # shutting down: the lane's events stay queued in storage
        lane = self._lanes[lane_key]
        lane.popleft()
        self._taken -= 1
        self._slot_freed.set()
        if lane and not self._stopping:  # stopping: the rest of the lane stays queued in storage
            self._ready.append(lane_key)
            self._work_arrived.set()
        else:
            del self._lanes[lane_key]

    async def _process(self, delivery: Delivery) -> None:
        event = delivery.event
        started = time.perf_counter()
        outcome: object
        if delivery.crashes >= CRASH_LIMIT:
            outcome = await self._quarantine(delivery)
        else:
            await self.health.retry("begin", lambda: self.storage.begin(delivery))
            outcome = await self._outcome(event)
        elapsed = time.perf_counter() - started
        self.metrics.processing_seconds.observe(elapsed)
        self.metrics.processed.labels(self.metrics.event_type(event.event_type), str(outcome)).inc()
        if self._logs(outcome) and log.isEnabledFor(logging.INFO):
            log.info(
                "event processed",
                extra={
                    "fields": {
                        "event_id": event.event_id,
                        "type": event.event_type,
                        "session": event.session,
                        "chat": event.chat,
                        "outcome": outcome,
                        "ms": round(elapsed * 1000, 2),
                    }
                },
            )
        await self.health.retry("ack", lambda: self.storage.ack([delivery]))

    def _logs(self, outcome: object) -> bool:
        if self.log_events == "acted":
            return outcome not in _QUIET_OUTCOMES
        return self.log_events == "all"

    async def _outcome(self, event: Incoming) -> object:
        """What the processor made of `event`; a store failure runs it again (the ledger keeps
        what was done single), an error dead-letters it (shutting down: it stays queued)."""
        try:
            return await self.health.retry("process", lambda: self.processor(event))
        except Exception as exc:
            log.exception("processing failed", extra={"fields": {"event_id": event.event_id}})
            letter = EventLetter.of(event, exc)
            why = "budget" if isinstance(exc, BudgetExceededError) else "raised"
        await self._dead_letter(letter, why)
        return "error"

    async def _quarantine(self, delivery: Delivery) -> str:
        event = delivery.event
        reason = (
            f"the engine died {delivery.crashes} times while processing this event: it is set aside, "
            "not processed again (replay it once the cause is found)"
        )
        log.error("event quarantined: %s", reason, extra={"fields": {"event_id": event.event_id}})
        await self._dead_letter(EventLetter.quarantined(event, reason), "crashed")
        return "quarantined"

    async def _dead_letter(self, letter: EventLetter, why: str) -> None:
        """Write the letter, whatever it takes: the event is acknowledged only after it."""
        self.metrics.quarantined.labels(why).inc()
        self.metrics.dead_letters.labels("event").inc()
        await self.health.retry("dead_letter", lambda: self.storage.dlq_add(encode(letter)))

    async def stop(self, grace: float) -> None:
        """Stop taking events; give in-flight ones `grace` seconds, then leave the rest queued."""
        self._stopping = True
        take_loop, runners = self._tasks[0], self._tasks[1:]
        take_loop.cancel()
        self._ready.clear()  # lanes not started stay queued in storage
        if self._busy:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    await self._idle.wait()
        if self._busy:
            log.warning("%d events still running at shutdown; they stay queued", self._busy)
        for task in [*runners, *self._running]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._running, return_exceptions=True)
