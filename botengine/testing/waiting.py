"""Waiting in tests for something that happens in another task or thread, with a deadline.

    await eventually_async(lambda: len(done) == 2, what="both events processed")
    calls = eventually(lambda: fake.calls_to("/v2/send/text"), timeout=5)

A test that waits for a fixed time is slow when the machine is idle and flaky when it is busy;
these poll a condition until it holds (returning its value) and fail with TimeoutError, saying
what they waited for, once `timeout` seconds have passed. A thread blocks in `eventually`, a
coroutine awaits `eventually_async`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

EVERY = 0.02  # seconds between two looks


def _give_up_after(deadline: float, timeout: float, what: str, condition: object) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"gave up after {timeout:g}s waiting for {what or condition}")


def eventually(condition: Callable[[], T], timeout: float = 10.0, what: str = "", every: float = EVERY) -> T:
    """Block until `condition()` is truthy and return it; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        _give_up_after(deadline, timeout, what, condition)
        time.sleep(every)
    return result


async def eventually_async(
    condition: Callable[[], T],
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for the condition, checked between sleeps
    what: str = "",
    every: float = EVERY,
) -> T:
    """`eventually` for coroutines: other tasks run while it waits."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        _give_up_after(deadline, timeout, what, condition)
        await asyncio.sleep(every)
    return result
