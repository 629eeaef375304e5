"""An in-process backend: nothing survives the process. For dry runs, rule tests and unit tests."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import secrets
import time
from collections import OrderedDict
from collections.abc import Sequence

from botengine.errors import QueueFullError
from botengine.storage.base import Delivery, Incoming, Job
from botengine.storage.codec import decode, encode
from botengine.types import JSON, JSONDict


class MemoryStorage:
    """Same behaviour as the persistent backends, kept in dictionaries."""

    name = "memory"

    def __init__(self, *, dedupe_window: float = 7 * 86400, max_depth: int = 100_000) -> None:
        self.dedupe_window = dedupe_window
        self.max_depth = max_depth
        self._seen: dict[str, float] = {}
        self._queue: OrderedDict[int, Incoming] = OrderedDict()
        self._leased: set[int] = set()
        self._seq = itertools.count(1)
        self._arrived = asyncio.Event()
        self._kv: dict[str, tuple[JSON, float | None]] = {}
        self._dlq: dict[str, JSONDict] = {}
        self._dlq_seq = itertools.count(1)
        self._jobs: dict[str, Job] = {}
        self._jobs_leased: set[str] = set()
        self.instance = secrets.token_hex(6)
        self._closed = False

    # -- ingest and queue -----------------------------------------------------------------------

    async def accept(self, event: Incoming) -> bool:
        now = time.time()
        if self._seen.get(event.dedupe_key, 0.0) > now:
            return False
        self._enqueue(event)
        self._seen[event.dedupe_key] = now + self.dedupe_window
        return True

    async def requeue(self, event: Incoming) -> None:
        self._enqueue(event)

    def _enqueue(self, event: Incoming) -> None:
        if len(self._queue) >= self.max_depth:
            raise QueueFullError(f"queue holds {len(self._queue)} events (maximum {self.max_depth})")
        self._queue[next(self._seq)] = event
        self._arrived.set()

    def queue_depth(self) -> int:
        return len(self._queue)

    async def take(self, limit: int, wait: float) -> list[Delivery]:
        taken = self._take(limit)
        if taken or wait <= 0:
            return taken
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._arrived.wait()
        return self._take(limit)

    def _take(self, limit: int) -> list[Delivery]:
        taken: list[Delivery] = []
        for seq, event in self._queue.items():
            if len(taken) == limit:
                break
            if seq not in self._leased:
                self._leased.add(seq)
                taken.append(Delivery(str(seq), event))
        return taken

    async def begin(self, delivery: Delivery) -> None:
        return None  # nothing here outlives the process: no crash to count

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            seq = int(delivery.receipt)
            self._queue.pop(seq, None)
            self._leased.discard(seq)

    # -- key/value ------------------------------------------------------------------------------

    def _live(self, key: str) -> tuple[JSON, float | None] | None:
        entry = self._kv.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= time.time():
            del self._kv[key]
            return None
        return entry

    async def get(self, key: str) -> JSON | None:
        entry = self._live(key)
        return None if entry is None else copy.deepcopy(entry[0])

    async def put(self, key: str, value: JSON, ttl: float | None = None) -> None:
        # a round trip through JSON, as every other backend does: non-JSON values fail here too
        self._kv[key] = (decode(encode(value)), None if ttl is None else time.time() + ttl)

    async def add(self, key: str, value: JSON, ttl: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        await self.put(key, value, ttl)
        return True

    async def delete(self, key: str) -> bool:
        return self._kv.pop(key, None) is not None

    async def incr(self, key: str, amount: int = 1) -> int:
        entry = self._live(key)
        value = int(entry[0] if entry else 0) + amount
        self._kv[key] = (value, entry[1] if entry else None)
        return value

    async def scan(self, prefix: str) -> list[tuple[str, JSON]]:
        return [
            (key, copy.deepcopy(entry[0]))
            for key in sorted(k for k in self._kv if k.startswith(prefix))
            if (entry := self._live(key)) is not None
        ]

    # -- dead letters ---------------------------------------------------------------------------

    async def dlq_add(self, entry: JSONDict) -> str:
        entry_id = f"{time.time_ns():020d}-{next(self._dlq_seq):06d}"
        self._dlq[entry_id] = copy.deepcopy(entry)
        return entry_id

    async def dlq_list(self) -> list[tuple[str, JSONDict]]:
        return [(entry_id, copy.deepcopy(self._dlq[entry_id])) for entry_id in sorted(self._dlq)]

    async def dlq_get(self, entry_id: str) -> JSONDict | None:
        entry = self._dlq.get(entry_id)
        return copy.deepcopy(entry) if entry is not None else None

    async def dlq_remove(self, entry_id: str) -> bool:
        return self._dlq.pop(entry_id, None) is not None

    # -- jobs -----------------------------------------------------------------------------------

    async def schedule(self, job: Job) -> bool:
        if job.id in self._jobs:
            return False
        self._jobs[job.id] = Job(job.id, job.due, copy.deepcopy(job.data))
        return True

    async def take_due(self, now: float, limit: int) -> list[Job]:
        due = sorted(
            (job for job in self._jobs.values() if job.due <= now and job.id not in self._jobs_leased),
            key=lambda job: job.due,
        )[:limit]
        self._jobs_leased.update(job.id for job in due)
        return due

    async def finish(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)
        self._jobs_leased.discard(job_id)

    async def jobs(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda job: job.due)

    # -- lifecycle ------------------------------------------------------------------------------

    async def ping(self) -> None:
        return None

    async def alive(self, instance: str) -> bool:
        return instance == self.instance and not self._closed  # no other process shares it

    async def close(self) -> None:
        self._closed = True
