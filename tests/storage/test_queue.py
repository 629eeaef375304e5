"""The EventQueue role: ingest (dedupe + enqueue), take in order, ack, depth.

Every backend runs these (tests/conftest.py BACKENDS).
"""

from __future__ import annotations

import asyncio

import pytest

from botengine.errors import QueueFullError
from botengine.storage import EventQueue
from tests.conftest import StorageFactory
from tests.storage.support import incoming


async def test_accept_then_duplicate(storage: EventQueue) -> None:
    assert await storage.accept(incoming("evt_1")) is True
    assert await storage.accept(incoming("evt_1")) is False
    assert await storage.accept(incoming("evt_1", session="other")) is True
    assert storage.queue_depth() == 2


async def test_concurrent_accepts_of_one_event_exactly_one_wins(storage: EventQueue) -> None:
    results = await asyncio.gather(*(storage.accept(incoming("evt_race")) for _ in range(50)))
    assert results.count(True) == 1


async def test_take_in_arrival_order_and_ack(storage: EventQueue) -> None:
    for i in range(5):
        await storage.accept(incoming(f"evt_{i}"))
    taken = await storage.take(10, 1.0)
    assert [d.event.event_id for d in taken] == [f"evt_{i}" for i in range(5)]
    assert taken[0].event.body == b'{"id": "evt_0"}'
    await storage.ack(taken)
    assert await storage.take(10, 0.05) == []
    await asyncio.sleep(0.1)  # acknowledgements may be written in batches
    assert storage.queue_depth() == 0


async def test_take_waits_for_the_first_event(storage: EventQueue) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await storage.accept(incoming("evt_late"))

    task = asyncio.create_task(later())
    taken = await storage.take(5, 2.0)
    await task
    assert [d.event.event_id for d in taken] == ["evt_late"]


async def test_taken_events_are_not_handed_out_twice(storage: EventQueue) -> None:
    await storage.accept(incoming("evt_a"))
    first = await storage.take(5, 0.5)
    assert len(first) == 1
    assert await storage.take(5, 0.05) == []


async def test_queue_full(storage_factory: StorageFactory) -> None:
    store = storage_factory(max_depth=2)
    await store.accept(incoming("evt_1"))
    await store.accept(incoming("evt_2"))
    with pytest.raises(QueueFullError):
        await store.accept(incoming("evt_3"))


async def test_an_event_refused_as_queue_full_is_not_marked_seen(storage_factory: StorageFactory) -> None:
    store = storage_factory(max_depth=1)
    await store.accept(incoming("evt_1"))
    with pytest.raises(QueueFullError):
        await store.accept(incoming("evt_2"))  # the sender retries it later: it must not be a duplicate
    await store.ack(await store.take(5, 0.5))
    await asyncio.sleep(0.1)  # acknowledgements may be written in batches
    assert await store.accept(incoming("evt_2")) is True
    assert [d.event.event_id for d in await store.take(5, 0.5)] == ["evt_2"]


async def test_requeue_ignores_the_dedupe_window(storage: EventQueue) -> None:
    event = incoming("evt_replay")
    await storage.accept(event)
    await storage.ack(await storage.take(5, 0.5))
    await storage.requeue(event)
    again = await storage.take(5, 0.5)
    assert [d.event.event_id for d in again] == ["evt_replay"]
    assert await storage.accept(event) is False  # still a duplicate for the sender


async def test_dedupe_window_expires(storage_factory: StorageFactory) -> None:
    store = storage_factory(dedupe_window=0.2)
    assert await store.accept(incoming("evt_w")) is True
    assert await store.accept(incoming("evt_w")) is False
    await asyncio.sleep(0.3)
    assert await store.accept(incoming("evt_w")) is True
