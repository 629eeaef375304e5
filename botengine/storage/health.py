"""How the store is doing as its users see it, and the retry their store operations go through.

An event accepted is an event processed: the worker, the executor and the scheduler never give up
on a store operation (take, claim, ledger, ack, dead letter, job), since giving up would drop
work that was promised. While the store fails they wait and try again:

    await health.retry("ack", lambda: storage.ack([delivery]))

backing off from 0.05 s to 2 s between attempts (a cancellation, at shutdown, ends the wait and
leaves the work where the next start finds it). Every failure is counted by operation
(`botengine_store_errors_total{operation}`) and makes /readyz say "not ready" until the store has
answered again and FAILING_FOR seconds have passed without a failure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from botengine.errors import StorageError

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_WAIT = 0.05
LONGEST_WAIT = 2.0
FAILING_FOR = 5.0  # seconds after the last failure during which the store still counts as failing
_LOG_EVERY = 30.0  # while an operation keeps failing, seconds between two log lines about it


class StoreHealth:
    """Recent store failures, told by the operations that met them; `retry` runs one until it works."""

    def __init__(self, count: Callable[[str], None] | None = None) -> None:
        self._count = count
        self._last_failure = 0.0
        self._last_success = 0.0
        self._last_error = ""

    @property
    def problem(self) -> str | None:
        """The last error while the store is failing (recently, or not answered since); else None."""
        if not self._last_failure:
            return None
        recent = time.monotonic() - self._last_failure < FAILING_FOR
        if recent or self._last_failure > self._last_success:
            return self._last_error
        return None

    def failed(self, operation: str, exc: BaseException) -> None:
        self._last_failure = time.monotonic()
        self._last_error = f"{operation}: {exc}"
        if self._count is not None:
            self._count(operation)

    def succeeded(self) -> None:
        if self._last_failure > self._last_success:  # healthy, it costs one comparison
            self._last_success = time.monotonic()

    async def retry(self, operation: str, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`'s result, calling it again after a pause for as long as it raises StorageError."""
        wait = FIRST_WAIT
        failing_since = 0.0
        logged = 0.0
        while True:
            try:
                result = await call()
            except StorageError as exc:
                now = time.monotonic()
                self.failed(operation, exc)
                failing_since = failing_since or now
                if now - logged > _LOG_EVERY:
                    logged = now
                    log.error("the store failed (%s); trying again until it works: %s", operation, exc)
                await asyncio.sleep(wait * random.uniform(0.8, 1.2))
                wait = min(wait * 2, LONGEST_WAIT)
                continue
            if failing_since:
                took = time.monotonic() - failing_since
                log.warning("the store works again (%s, after %.1fs)", operation, took)
            self.succeeded()
            return result
