"""What a store remembers of a process that died: the events it was processing, and whether it lives.

The worker quarantines an event that was being processed when the engine died twice
(`Delivery.crashes`); the executor asks `alive` of a claim's owner to tell an action that is
still running from one whose process died (uncertain).
"""

from __future__ import annotations

import pytest

from botengine.storage import Storage
from tests.conftest import StorageFactory
from tests.storage.support import incoming

LEASE = 0.5  # Redis: how soon a dead process's partitions are taken over


def restartable(storage_factory: StorageFactory) -> Storage:
    if storage_factory.backend == "memory":  # type: ignore[attr-defined]
        pytest.skip("the memory backend keeps nothing across restarts by design")
    options = {"lease": LEASE} if storage_factory.backend == "redis" else {}  # type: ignore[attr-defined]
    return storage_factory(**options)


async def die(store: Storage) -> None:
    await store.abandon()  # type: ignore[attr-defined]  # killed: nothing released, nothing cleaned


async def test_an_event_being_processed_when_its_process_died_counts_a_crash(
    storage_factory: StorageFactory,
) -> None:
    first = restartable(storage_factory)
    await first.accept(incoming("evt_begun", chat="1@c.us"))
    await first.accept(incoming("evt_only_taken", chat="2@c.us"))
    taken = {d.event.event_id: d for d in await first.take(10, 1)}
    assert {d.crashes for d in taken.values()} == {0}
    await first.begin(taken["evt_begun"])  # the other was taken (prefetched), never begun
    await die(first)

    second = restartable(storage_factory)
    again = {d.event.event_id: d for d in await _take_all(second, 2)}
    assert again["evt_begun"].crashes == 1
    assert again["evt_only_taken"].crashes == 0  # merely queued at the crash: not its fault
    await second.begin(again["evt_begun"])
    await die(second)

    third = restartable(storage_factory)
    last = {d.event.event_id: d for d in await _take_all(third, 2)}
    assert last["evt_begun"].crashes == 2
    await third.ack(list(last.values()))


async def test_a_clean_stop_counts_no_crash(storage_factory: StorageFactory) -> None:
    first = restartable(storage_factory)
    await first.accept(incoming("evt_stopped"))
    [delivery] = await first.take(1, 1)
    await first.begin(delivery)
    await first.close()  # SIGTERM: what was begun and not acknowledged is queued again, no crash
    second = restartable(storage_factory)
    [again] = await _take_all(second, 1)
    assert again.crashes == 0


async def test_a_store_tells_whether_another_instance_is_alive(storage_factory: StorageFactory) -> None:
    first = restartable(storage_factory)
    await first.take(1, 0)  # a worker: on Redis its heartbeat is its liveness
    second = restartable(storage_factory)
    assert await second.alive(first.instance)
    assert await first.alive(first.instance)
    assert first.instance != second.instance
    await die(first)
    await _eventually_dead(second, first.instance)


async def _take_all(store: Storage, count: int) -> list:  # type: ignore[type-arg]
    """`count` deliveries (on Redis, once the dead process's partitions were taken over)."""
    found: list = []  # type: ignore[type-arg]
    for _ in range(40):
        found += await store.take(count - len(found), 0.25)
        if len(found) >= count:
            return found
    raise AssertionError(f"took {len(found)} of {count} events")


async def _eventually_dead(store: Storage, instance: str) -> None:
    import asyncio

    for _ in range(100):
        if not await store.alive(instance):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance} still looks alive")
