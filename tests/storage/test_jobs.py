"""The JobStore role: scheduled jobs, leased to the one that runs them.

Every backend runs these (tests/conftest.py BACKENDS).
"""

from __future__ import annotations

import time

import pytest

from botengine.storage import Job, JobStore
from tests.conftest import StorageFactory


async def test_jobs_due_and_leased(storage: JobStore) -> None:
    now = time.time()
    assert await storage.schedule(Job("j-late", now + 3600, {"x": 1})) is True
    assert await storage.schedule(Job("j-due", now - 1, {"x": 2})) is True
    assert await storage.schedule(Job("j-due", now - 1, {"x": 3})) is False  # same id: kept once
    due = await storage.take_due(now, 10)
    assert [(j.id, j.data) for j in due] == [("j-due", {"x": 2})]
    assert await storage.take_due(now, 10) == []  # leased
    await storage.finish("j-due")
    assert [j.id for j in await storage.jobs()] == ["j-late"]


async def test_jobs_leased_by_a_store_that_closed_run_again(storage_factory: StorageFactory) -> None:
    if storage_factory.backend == "memory":  # type: ignore[attr-defined]
        pytest.skip("the memory backend keeps nothing across restarts by design")
    now = time.time()
    first = storage_factory()
    await first.schedule(Job("j-interrupted", now - 1, {"x": 1}))
    assert [j.id for j in await first.take_due(now, 10)] == ["j-interrupted"]  # then "the process stops"
    await first.close()
    second = storage_factory()
    assert [(j.id, j.data) for j in await second.take_due(now, 10)] == [("j-interrupted", {"x": 1})]
