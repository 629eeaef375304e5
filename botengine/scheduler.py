"""The scheduler: runs jobs from the store when they fall due — retries, follow-ups, replays.

Jobs live in the store (storage.schedule), so they survive restarts. A job is leased while it
runs and forgotten only after it ran; one interrupted by a crash runs again after the restart,
which the idempotency ledger makes harmless. Jobs run concurrently, so one slow retry never
holds back the others.

A store that fails stops nothing for good (storage/health.py): reading due jobs, a job the store
failed under, its dead letter and forgetting it are each tried again until the store works, and
a job is forgotten only after it ran or its dead letter is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from botengine.jobs import JobLetter, encode
from botengine.storage import Job, Storage
from botengine.storage.health import StoreHealth

log = logging.getLogger(__name__)

JobRunner = Callable[[Job], Awaitable[None]]


class Scheduler:
    def __init__(
        self,
        storage: Storage,
        run: JobRunner,
        *,
        poll: float = 0.2,
        concurrency: int = 32,
        health: StoreHealth | None = None,
    ) -> None:
        self.storage = storage
        self.run = run
        self.health = health or StoreHealth()
        self.poll = poll
        self.concurrency = max(1, concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="botengine-scheduler")

    def wake(self) -> None:
        """Look for due jobs now rather than at the next poll (a replay was just scheduled)."""
        self._wake.set()

    async def _loop(self) -> None:
        # stops on the flag as well as on cancel: redis-py can swallow a cancellation that lands
        # mid-command, and stop() would then wait for this loop forever
        while not self._stopping:
            free = self.concurrency - len(self._running)
            jobs: list[Job] = []
            if free > 0:
                try:
                    jobs = await self._due(free)
                except Exception as exc:  # not the store (it is retried): a row it cannot read
                    log.error("cannot read scheduled jobs (will try again): %s", exc)
                    await asyncio.sleep(1.0)
            for job in jobs:
                task = asyncio.create_task(self._run_one(job), name=f"job-{job.id[:40]}")
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if (not jobs or free <= len(jobs)) and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await self._wake.wait()

    async def _due(self, limit: int) -> list[Job]:
        return await self.health.retry("take_due", lambda: self.storage.take_due(time.time(), limit))

    async def _run_one(self, job: Job) -> None:
        try:
            # a store failure is not the job's: it runs again once the store works
            await self.health.retry("job", lambda: self.run(job))
        except Exception as exc:  # (a cancellation, at shutdown, leaves it stored for the restart)
            log.exception("job %s failed; it goes to the dead-letter queue", job.id.replace("\x1f", " "))
            letter = JobLetter.of(job.id, job.data, exc)
            await self.health.retry("dead_letter", lambda: self.storage.dlq_add(encode(letter)))
        await self.health.retry("finish", lambda: self.storage.finish(job.id))

    async def stop(self, grace: float) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
