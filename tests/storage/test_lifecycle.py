"""The Lifecycle role, and what a persistent store keeps across a restart.

Every backend runs these (tests/conftest.py BACKENDS).
"""

from __future__ import annotations

import pytest

from botengine.storage import Lifecycle
from tests.conftest import StorageFactory
from tests.storage.support import incoming


async def test_ping(storage: Lifecycle) -> None:
    await storage.ping()


async def test_disk_queue_and_dedupe_survive_a_restart(storage_factory: StorageFactory) -> None:
    if storage_factory.backend == "memory":  # type: ignore[attr-defined]
        pytest.skip("the memory backend keeps nothing across restarts by design")
    first = storage_factory()
    await first.accept(incoming("evt_keep"))
    await first.accept(incoming("evt_done"))
    taken = await first.take(1, 0.5)
    assert taken[0].event.event_id == "evt_keep"  # leased, never acknowledged: the process "dies"
    await first.put("state:x", "kept")
    await first.close()
    second = storage_factory()
    again = await second.take(10, 0.5)
    assert [d.event.event_id for d in again] == ["evt_keep", "evt_done"]
    assert await second.accept(incoming("evt_keep")) is False
    assert await second.get("state:x") == "kept"
