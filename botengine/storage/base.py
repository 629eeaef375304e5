"""The storage interface every backend implements, by role, and the records that cross it.

`Storage` is everything the engine keeps, in five roles, each a Protocol of its own:

    EventQueue   the dedupe window and the event queue (written together, atomically, at ingest)
    KeyValue     per-key state with expiry (conversation state, cooldowns, the action ledger,
                 discount codes, counters)
    DeadLetters  what could not be done, for a person to replay or drop
    JobStore     scheduled jobs (follow-ups, retries)
    Lifecycle    ping and close

A backend implements all five (tests/storage/ holds one contract test module per role); a part of
the engine that needs one role may ask for just that one. Values are JSON, never pickles: whoever
can write the data directory must not be able to run code through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from botengine.types import JSON, JSONDict


@dataclass(frozen=True, slots=True)
class Incoming:
    """An accepted webhook body and what the queue needs to know about it without parsing it."""

    session: str
    event_id: str
    event_type: str
    chat: str
    body: bytes
    received_at: float

    @property
    def dedupe_key(self) -> str:
        # \x1f cannot occur in a session or an event id (the envelope forbids control characters)
        return f"{self.session}\x1f{self.event_id}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event taken from the queue; it stays in the queue until acknowledged.

    `crashes` counts the processes that died while processing it (begun, never acknowledged):
    the worker sets aside an event that keeps killing the engine instead of processing it again.
    """

    receipt: str
    event: Incoming
    crashes: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    """A scheduled piece of work (a follow-up, a retry): due at `due`, described by `data`."""

    id: str
    due: float
    data: JSONDict


class EventQueue(Protocol):
    """Ingest and the event queue: dedupe and enqueue in one atomic step, then take and ack."""

    async def accept(self, event: Incoming) -> bool:
        """Queue `event` unless its (session, id) was seen in the dedupe window.

        True when it was queued, False for a duplicate. It is durable when this returns.
        Raises QueueFullError past the configured depth.
        """

    async def requeue(self, event: Incoming) -> None:
        """Queue `event` again, ignoring the dedupe window (a deliberate replay)."""

    def queue_depth(self) -> int:
        """Events accepted and not yet acknowledged (a cheap, possibly slightly stale count)."""

    async def take(self, limit: int, wait: float) -> list[Delivery]:
        """Up to `limit` events in arrival order, waiting up to `wait` seconds for the first.

        Taken events are leased: a backend hands them out again only if the taker dies.
        """

    async def begin(self, delivery: Delivery) -> None:
        """Note that `delivery` is being processed now, until its ack.

        If the process dies meanwhile, the event's next delivery counts one more crash. Cheap:
        it runs for every event (no fsync; surviving the death of the process is enough).
        """

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Remove processed events from the queue."""


class KeyValue(Protocol):
    """Per-key JSON values with expiry: state, cooldowns, the action ledger, codes, counters.

    Keys are built by storage/keys.py (`<namespace>:<parts>`).
    """

    async def get(self, key: str) -> JSON | None: ...

    async def put(self, key: str, value: JSON, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: JSON, ttl: float | None = None) -> bool:
        """Set `key` only if absent (or expired); True when this call set it."""

    async def delete(self, key: str) -> bool: ...

    async def incr(self, key: str, amount: int = 1) -> int:
        """Add to an integer counter (created at 0) and return the new value."""

    async def scan(self, prefix: str) -> list[tuple[str, JSON]]:
        """Every live key starting with `prefix`, sorted by key (for listings, not hot paths)."""


class DeadLetters(Protocol):
    """What could not be done, kept for a person to look at, replay or drop."""

    async def dlq_add(self, entry: JSONDict) -> str:
        """Store a dead letter; returns its id (ids sort in arrival order)."""

    async def dlq_list(self) -> list[tuple[str, JSONDict]]: ...

    async def dlq_get(self, entry_id: str) -> JSONDict | None: ...

    async def dlq_remove(self, entry_id: str) -> bool: ...


class JobStore(Protocol):
    """Scheduled jobs (follow-ups, retries), leased to the one scheduler that runs them."""

    async def schedule(self, job: Job) -> bool:
        """Store a job unless one with the same id exists; True when stored."""

    async def take_due(self, now: float, limit: int) -> list[Job]:
        """Jobs due at or before `now`, leased to the caller until `finish`ed or the caller dies."""

    async def finish(self, job_id: str) -> None:
        """Forget a job that ran (or was cancelled)."""

    async def jobs(self) -> list[Job]:
        """Every pending job, soonest first."""


class Lifecycle(Protocol):
    """Health and shutdown of a store, and which of its users are alive."""

    name: str
    instance: str
    """This store object's id among the processes that share the store (a claim names it)."""

    async def alive(self, instance: str) -> bool:
        """Whether the store `instance` (this one, or another process's) is still running.

        What the executor asks of an unfinished claim: a dead owner's action will never finish
        and may or may not have taken effect (it is uncertain).
        """

    async def ping(self) -> None:
        """Raise StorageError when the store cannot be reached."""

    async def close(self) -> None: ...


class Storage(EventQueue, KeyValue, DeadLetters, JobStore, Lifecycle, Protocol):
    """What the engine needs from a store: every role at once. Every backend passes the same tests.

    A part of the engine that needs one role only may ask for that role (`KeyValue`, `JobStore`…).
    """
