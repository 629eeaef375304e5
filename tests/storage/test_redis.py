"""What the Redis backend adds to the storage interface: several workers on one queue.

The shared behaviour is in the role modules beside this one (they run on Redis too); here: partitions
shared between workers, a dead worker's events and jobs taken over after its lease, and the
edges of the Redis deployment (wrong partition count, no server, no redis package).
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Sequence

import pytest

from botengine.errors import ConfigError, StorageError
from botengine.storage import Delivery, Job, Storage
from botengine.testing import eventually_async
from tests.conftest import REDIS_URL, REPO, StorageFactory
from tests.storage.support import incoming

redis_only = pytest.mark.parametrize(
    "storage_factory", [pytest.param("redis", marks=pytest.mark.redis)], indirect=True
)


async def take_until(store: Storage, count: int, timeout: float = 5.0) -> list[Delivery]:
    taken: list[Delivery] = []
    deadline = time.monotonic() + timeout
    while len(taken) < count and time.monotonic() < deadline:
        taken += await store.take(count - len(taken), 0.2)
    return taken


def ids(deliveries: Sequence[Delivery]) -> list[str]:
    return [d.event.event_id for d in deliveries]


@redis_only
async def test_two_workers_share_the_partitions_and_each_chat_goes_to_one(
    storage_factory: StorageFactory,
) -> None:
    a = storage_factory(partitions=4, lease=0.6)
    b = storage_factory(partitions=4, lease=0.6)
    await a.take(1, 0)
    await b.take(1, 0)
    await eventually_async(lambda: len(a.owned_partitions) == 2 and len(b.owned_partitions) == 2)  # type: ignore[attr-defined]
    assert set(a.owned_partitions) | set(b.owned_partitions) == {0, 1, 2, 3}  # type: ignore[attr-defined]

    chats = [f"{n}@c.us" for n in range(12)]
    assert {a.partition_of(incoming("x", chat)) for chat in chats} == {0, 1, 2, 3}  # type: ignore[attr-defined]
    for i in range(240):
        await (a if i % 2 else b).accept(incoming(f"evt_{i:03d}", chats[i % 12]))
    takers: dict[str, set[str]] = {}
    order: dict[str, list[str]] = {}
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while len(seen) < 240 and time.monotonic() < deadline:
        for name, store in (("a", a), ("b", b)):
            taken = await store.take(25, 0.05)
            for delivery in taken:
                takers.setdefault(delivery.event.chat, set()).add(name)
                order.setdefault(delivery.event.chat, []).append(delivery.event.event_id)
                seen.append(delivery.event.event_id)
            await store.ack(taken)
    assert sorted(seen) == [f"evt_{i:03d}" for i in range(240)]  # every event, once
    assert all(len(names) == 1 for names in takers.values())  # a chat is read by one worker
    assert set().union(*takers.values()) == {"a", "b"}  # and both worked
    assert all(events == sorted(events) for events in order.values())
    await eventually_async(lambda: a.queue_depth() == 0)


@redis_only
async def test_a_dead_workers_events_are_taken_over_in_order(storage_factory: StorageFactory) -> None:
    dead = storage_factory(lease=0.5)
    for i in range(5):
        await dead.accept(incoming(f"evt_{i}"))
    assert ids(await dead.take(3, 1.0)) == ["evt_0", "evt_1", "evt_2"]  # taken, never acknowledged
    await dead.abandon()  # type: ignore[attr-defined]  # killed: no release, no more renewals

    survivor = storage_factory(lease=0.5)
    await survivor.accept(incoming("evt_5"))
    taken = await take_until(survivor, 6)
    assert ids(taken) == [f"evt_{i}" for i in range(6)]  # its backlog first, in order, then new ones
    await survivor.ack(taken)
    assert survivor.queue_depth() == 0
    assert await survivor.take(5, 0.1) == []


@redis_only
async def test_the_dead_consumer_is_forgotten_once_its_entries_moved(storage_factory: StorageFactory) -> None:
    import redis.asyncio

    dead = storage_factory(lease=0.5, partitions=1)
    await dead.accept(incoming("evt_0"))
    assert ids(await dead.take(1, 1.0)) == ["evt_0"]
    await dead.abandon()  # type: ignore[attr-defined]
    survivor = storage_factory(lease=0.5, partitions=1)
    assert ids(await take_until(survivor, 1)) == ["evt_0"]
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        consumers = await client.xinfo_consumers(survivor.keys.stream(0), "workers")  # type: ignore[attr-defined]
    finally:
        await client.aclose()
    assert [c["name"].decode() for c in consumers] == [survivor.consumer]  # type: ignore[attr-defined]


@redis_only
async def test_partitions_rebalance_when_a_worker_joins_and_when_it_leaves(
    storage_factory: StorageFactory,
) -> None:
    a = storage_factory(lease=0.6)
    await a.take(1, 0)
    assert len(a.owned_partitions) == 16  # type: ignore[attr-defined]
    b = storage_factory(lease=0.6)
    await b.take(1, 0)
    await eventually_async(lambda: len(a.owned_partitions) == 8 and len(b.owned_partitions) == 8)  # type: ignore[attr-defined]
    await a.close()
    await eventually_async(lambda: len(b.owned_partitions) == 16)  # type: ignore[attr-defined]


@redis_only
async def test_an_acknowledgement_counts_once(storage_factory: StorageFactory) -> None:
    """A worker thought dead may still acknowledge what its successor also ran: depth stays right."""
    store = storage_factory()
    await store.accept(incoming("evt_1"))
    await store.accept(incoming("evt_2"))
    taken = await store.take(1, 1.0)
    await store.ack(taken)
    await store.ack(taken)
    assert store.queue_depth() == 1


@redis_only
async def test_queue_full_counts_every_partition_and_requeues(storage_factory: StorageFactory) -> None:
    from botengine.errors import QueueFullError

    store = storage_factory(max_depth=3)
    for n in range(3):
        await store.accept(incoming(f"evt_{n}", chat=f"{n}@c.us"))
    with pytest.raises(QueueFullError):
        await store.accept(incoming("evt_3", chat="3@c.us"))
    with pytest.raises(QueueFullError):
        await store.requeue(incoming("evt_0", chat="0@c.us"))
    assert store.queue_depth() == 3


@redis_only
async def test_jobs_of_a_dead_taker_come_back_after_the_lease(storage_factory: StorageFactory) -> None:
    now = time.time()
    dead = storage_factory(lease=0.5)
    other = storage_factory(lease=0.5)
    await dead.schedule(Job("j-1", now - 1, {"n": 1}))
    assert [j.id for j in await dead.take_due(now, 10)] == ["j-1"]
    await dead.abandon()  # type: ignore[attr-defined]
    assert await other.take_due(time.time(), 10) == []  # still leased
    await asyncio.sleep(0.7)
    assert [(j.id, j.data) for j in await other.take_due(time.time(), 10)] == [("j-1", {"n": 1})]


@redis_only
async def test_a_running_job_keeps_its_lease(storage_factory: StorageFactory) -> None:
    now = time.time()
    runner = storage_factory(lease=0.5)
    other = storage_factory(lease=0.5)
    await runner.schedule(Job("j-slow", now - 1, {}))
    assert [j.id for j in await runner.take_due(now, 10)] == ["j-slow"]
    await asyncio.sleep(1.2)  # more than two leases: renewed in the background
    assert await other.take_due(time.time(), 10) == []
    await runner.finish("j-slow")
    assert await other.jobs() == []


@redis_only
async def test_a_namespace_refuses_another_partition_count(storage_factory: StorageFactory) -> None:
    await storage_factory(partitions=16).accept(incoming("evt_1"))
    with pytest.raises(ConfigError, match="16 queue partitions"):
        await storage_factory(partitions=8).accept(incoming("evt_2"))


@redis_only
async def test_keys_stay_in_the_namespace(storage_factory: StorageFactory) -> None:
    import redis.asyncio

    store = storage_factory()
    await store.accept(incoming("evt_1"))
    await store.ack(await store.take(1, 1.0))
    await store.put("state:x", 1, ttl=60)
    await store.incr("counter:n")
    await store.dlq_add({"kind": "event"})
    await store.schedule(Job("j", time.time() + 60, {}))
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        names = [n.decode() async for n in client.scan_iter(match=store.keys.pattern(), count=1000)]  # type: ignore[attr-defined]
    finally:
        await client.aclose()
    namespace = storage_factory.namespace  # type: ignore[attr-defined]
    assert names and all(name.startswith(namespace + ":") for name in names)
    assert f"{namespace}:kv:state:x" in names


async def test_open_storage_picks_redis_when_a_url_is_set() -> None:
    pytest.importorskip("redis")
    from botengine.config import Settings
    from botengine.storage import open_storage
    from botengine.storage.redis import RedisStorage

    store = open_storage(Settings(redis_url="redis://127.0.0.1:1/0", max_queue=7))
    assert isinstance(store, RedisStorage) and store.max_depth == 7
    await store.close()


async def test_an_unreachable_redis_is_a_storage_error() -> None:
    pytest.importorskip("redis")
    from botengine.storage.redis import RedisStorage

    store = RedisStorage("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with pytest.raises(StorageError):
        await store.ping()
    with pytest.raises(StorageError):
        await store.accept(incoming("evt_1"))
    with pytest.raises(StorageError):
        await store.get("state:x")
    with pytest.raises(StorageError):
        await store.take(1, 0)
    with pytest.raises(StorageError):
        await store.take(1, 0)  # a failed first take is tried again, not taken as started
    await store.close()


def test_without_the_redis_package_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis now fails, as when not installed
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    monkeypatch.delitem(sys.modules, "botengine.storage.redis", raising=False)
    with pytest.raises(ConfigError, match=r"pip install botengine\[redis\]"):
        importlib.import_module("botengine.storage.redis")


def test_every_lua_script_ships_with_the_package() -> None:
    pytest.importorskip("redis")
    from botengine.storage.redis.connection import SCRIPTS, script_source

    lua = {path.stem for path in (REPO / "botengine" / "storage" / "redis" / "lua").glob("*.lua")}
    assert lua == set(SCRIPTS)  # none missing, none left unused
    assert all("redis.call" in script_source(name) for name in SCRIPTS)
