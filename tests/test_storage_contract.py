"""The storage interface: every backend passes every test here (tests/conftest.py BACKENDS)."""

from __future__ import annotations

import asyncio
import time

import pytest

from botengine.errors import QueueFullError
from botengine.storage import Incoming, Job, Storage
from tests.conftest import StorageFactory


def incoming(event_id: str, chat: str = "447441429009@c.us", session: str = "default") -> Incoming:
    return Incoming(session, event_id, "message", chat, b'{"id": "%s"}' % event_id.encode(), time.time())


async def test_accept_then_duplicate(storage: Storage) -> None:
    assert await storage.accept(incoming("evt_1")) is True
    assert await storage.accept(incoming("evt_1")) is False
    assert await storage.accept(incoming("evt_1", session="other")) is True
    assert storage.queue_depth() == 2


async def test_concurrent_accepts_of_one_event_exactly_one_wins(storage: Storage) -> None:
    results = await asyncio.gather(*(storage.accept(incoming("evt_race")) for _ in range(50)))
    assert results.count(True) == 1


async def test_take_in_arrival_order_and_ack(storage: Storage) -> None:
    for i in range(5):
        await storage.accept(incoming(f"evt_{i}"))
    taken = await storage.take(10, 1.0)
    assert [d.event.event_id for d in taken] == [f"evt_{i}" for i in range(5)]
    assert taken[0].event.body == b'{"id": "evt_0"}'
    await storage.ack(taken)
    assert await storage.take(10, 0.05) == []
    await asyncio.sleep(0.1)  # acknowledgements may be written in batches
    assert storage.queue_depth() == 0


async def test_take_waits_for_the_first_event(storage: Storage) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await storage.accept(incoming("evt_late"))

    task = asyncio.create_task(later())
    taken = await storage.take(5, 2.0)
    await task
    assert [d.event.event_id for d in taken] == ["evt_late"]


async def test_taken_events_are_not_handed_out_twice(storage: Storage) -> None:
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


async def test_requeue_ignores_the_dedupe_window(storage: Storage) -> None:
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


async def test_key_values_with_expiry(storage: Storage) -> None:
    await storage.put("state:a", {"menu": "main"})
    assert await storage.get("state:a") == {"menu": "main"}
    assert await storage.get("state:missing") is None
    await storage.put("state:short", 1, ttl=0.1)
    await asyncio.sleep(0.2)
    assert await storage.get("state:short") is None
    assert await storage.delete("state:a") is True
    assert await storage.delete("state:a") is False


async def test_add_only_if_absent(storage: Storage) -> None:
    assert await storage.add("discount:k", "CODE1") is True
    assert await storage.add("discount:k", "CODE2") is False
    assert await storage.get("discount:k") == "CODE1"
    results = await asyncio.gather(*(storage.add("discount:race", i) for i in range(20)))
    assert results.count(True) == 1


async def test_incr(storage: Storage) -> None:
    assert await storage.incr("counter:reads") == 1
    assert await storage.incr("counter:reads", 4) == 5
    assert await storage.get("counter:reads") == 5


async def test_scan_by_prefix_sorted(storage: Storage) -> None:
    await storage.put("discount:spring\x1fb", "B")
    await storage.put("discount:spring\x1fa", "A")
    await storage.put("discount:summer\x1fc", "C")
    found = await storage.scan("discount:spring\x1f")
    assert found == [("discount:spring\x1fa", "A"), ("discount:spring\x1fb", "B")]


async def test_scan_takes_glob_characters_literally(storage: Storage) -> None:
    await storage.put("state:a*\x1f1", 1)
    await storage.put("state:a?[x]\\\x1f2", 2)
    await storage.put("state:ab\x1f3", 3)
    assert await storage.scan("state:a*") == [("state:a*\x1f1", 1)]
    assert await storage.scan("state:a?[x]\\") == [("state:a?[x]\\\x1f2", 2)]
    assert [v for _, v in await storage.scan("state:a")] == [1, 2, 3]


async def test_dead_letters(storage: Storage) -> None:
    first = await storage.dlq_add({"kind": "action", "n": 1})
    second = await storage.dlq_add({"kind": "action", "n": 2})
    listed = await storage.dlq_list()
    assert [entry_id for entry_id, _ in listed] == [first, second]
    assert await storage.dlq_get(first) == {"kind": "action", "n": 1}
    assert await storage.dlq_remove(first) is True
    assert await storage.dlq_remove(first) is False
    assert [e["n"] for _, e in await storage.dlq_list()] == [2]


async def test_jobs_due_and_leased(storage: Storage) -> None:
    now = time.time()
    assert await storage.schedule(Job("j-late", now + 3600, {"x": 1})) is True
    assert await storage.schedule(Job("j-due", now - 1, {"x": 2})) is True
    assert await storage.schedule(Job("j-due", now - 1, {"x": 3})) is False  # same id: kept once
    due = await storage.take_due(now, 10)
    assert [(j.id, j.data) for j in due] == [("j-due", {"x": 2})]
    assert await storage.take_due(now, 10) == []  # leased
    await storage.finish("j-due")
    assert [j.id for j in await storage.jobs()] == ["j-late"]


async def test_refuses_values_that_are_not_json(storage: Storage) -> None:
    with pytest.raises((TypeError, ValueError)):
        await storage.put("state:obj", object())


async def test_ping(storage: Storage) -> None:
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


async def test_many_concurrent_writes_each_see_their_own_result(storage: Storage) -> None:
    """Backends may commit concurrent writes together; each caller still gets its own answer."""
    added = await asyncio.gather(*(storage.add(f"ledger:k{i % 50}", i) for i in range(200)))
    assert added.count(True) == 50
    counted = await asyncio.gather(*(storage.incr("counter:shared") for _ in range(100)))
    assert sorted(counted) == list(range(1, 101))
    deleted = await asyncio.gather(*(storage.delete(f"ledger:k{i}") for i in range(60)))
    assert deleted == [True] * 50 + [False] * 10
    assert await storage.get("ledger:k0") is None
