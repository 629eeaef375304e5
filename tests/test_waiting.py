"""The test helpers' one way to wait: a condition polled until it holds, or a clear timeout."""

from __future__ import annotations

import asyncio
import threading

import pytest

from botengine.testing import eventually, eventually_async


def test_eventually_returns_the_conditions_value_once_it_holds() -> None:
    box: list[str] = []
    threading.Timer(0.05, box.append, ["done"]).start()
    assert eventually(lambda: list(box), timeout=5) == ["done"]


def test_eventually_says_what_it_waited_for() -> None:
    with pytest.raises(TimeoutError, match=r"gave up after 0\.1s waiting for the moon"):
        eventually(lambda: False, timeout=0.1, what="the moon")


async def test_eventually_async_lets_other_tasks_run() -> None:
    box: list[int] = []

    async def later() -> None:
        await asyncio.sleep(0.05)
        box.append(1)

    task = asyncio.create_task(later())
    assert await eventually_async(lambda: len(box), timeout=5) == 1
    await task
    with pytest.raises(TimeoutError, match="waiting for nothing"):
        await eventually_async(lambda: 0, timeout=0.05, what="nothing")
