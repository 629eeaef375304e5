"""The worker: per-chat order, chats in parallel, failures to the dead-letter queue."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import pytest

from botengine.metrics import Metrics
from botengine.storage import Incoming, Storage
from botengine.testing import eventually_async
from botengine.worker import Worker


def incoming(i: int, chat: str) -> Incoming:
    return Incoming("default", f"evt_{i:05d}", "message", chat, b"{}", time.time())


async def test_per_chat_order_kept_while_chats_run_concurrently(storage: Storage) -> None:
    seen: dict[str, list[int]] = {}
    running: set[str] = set()
    overlaps: list[str] = []
    max_parallel = 0

    async def processor(event: Incoming) -> str:
        nonlocal max_parallel
        if event.chat in running:
            overlaps.append(event.chat)
        running.add(event.chat)
        max_parallel = max(max_parallel, len(running))
        await asyncio.sleep(random.random() / 500)
        seen.setdefault(event.chat, []).append(int(event.event_id[4:]))
        running.discard(event.chat)
        return "ok"

    chats = [f"{n}@c.us" for n in range(10)]
    for i in range(300):
        await storage.accept(incoming(i, chats[i % 10]))
    worker = Worker(storage, processor, Metrics(), concurrency=8)
    worker.start()
    try:
        await eventually_async(lambda: sum(len(v) for v in seen.values()) >= 300, 20, "300 events", 0.01)
    finally:
        await worker.stop(1.0)
    assert sum(len(v) for v in seen.values()) == 300
    assert all(order == sorted(order) for order in seen.values())
    assert overlaps == []  # one chat never ran two events at once
    assert max_parallel > 1  # but different chats did


async def test_failing_event_goes_to_the_dead_letter_queue_and_the_rest_continue(storage: Storage) -> None:
    done: list[str] = []

    async def processor(event: Incoming) -> str:
        if event.event_id == "evt_00001":
            raise ValueError("rule blew up")
        done.append(event.event_id)
        return "ok"

    for i in range(3):
        await storage.accept(incoming(i, "1@c.us"))
    worker = Worker(storage, processor, Metrics(), concurrency=2)
    worker.start()
    try:
        await eventually_async(lambda: len(done) >= 2, 10, "two events done", 0.01)
    finally:
        await worker.stop(1.0)
    assert done == ["evt_00000", "evt_00002"]
    letters = await storage.dlq_list()
    assert len(letters) == 1
    entry = letters[0][1]
    assert entry["event_id"] == "evt_00001" and "rule blew up" in entry["errors"][0]["error"]


async def test_stop_leaves_unfinished_events_queued(storage_factory) -> None:  # type: ignore[no-untyped-def]
    store = storage_factory()
    started = asyncio.Event()

    async def slow(event: Incoming) -> str:
        started.set()
        await asyncio.sleep(3600)
        return "never"

    await store.accept(incoming(1, "1@c.us"))
    worker = Worker(store, slow, Metrics(), concurrency=1)
    worker.start()
    await asyncio.wait_for(started.wait(), 5)
    await worker.stop(0.1)
    if storage_factory.backend == "disk":
        await store.close()
        reopened = storage_factory()
        again = await reopened.take(5, 0.5)
        assert [d.event.event_id for d in again] == ["evt_00001"]
    else:
        assert store.queue_depth() == 1


async def test_stop_starts_nothing_new_while_in_flight_events_finish(storage: Storage) -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def processor(event: Incoming) -> str:
        started.append(event.event_id)
        if event.chat == "slow@c.us":
            await release.wait()
        else:
            await asyncio.sleep(0.05)
        return "ok"

    await storage.accept(incoming(0, "slow@c.us"))
    for i in range(1, 6):
        await storage.accept(incoming(i, "quick@c.us"))
    worker = Worker(storage, processor, Metrics(), concurrency=2)
    worker.start()
    await eventually_async(lambda: len(started) >= 2, 5, "two events started", 0.005)
    stopping = asyncio.create_task(worker.stop(5.0))
    await asyncio.sleep(0.3)  # the slow event keeps the grace period going
    release.set()
    await stopping
    # the quick chat's event in flight at the stop finished; its next ones stayed queued
    assert sorted(started) == ["evt_00000", "evt_00001"]


async def test_log_events_acted_leaves_out_the_events_no_rule_wanted(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    async def processor(event: Incoming) -> str:
        return "done" if event.event_id.endswith("0") else "no_match"

    for i in range(1, 11):
        await storage.accept(incoming(i, f"{i}@c.us"))
    worker = Worker(storage, processor, Metrics(), log_events="acted")
    caplog.set_level(logging.INFO, "botengine.worker")
    worker.start()
    try:
        await eventually_async(lambda: storage.queue_depth() == 0, 10, "every event acknowledged", 0.01)
    finally:
        await worker.stop(1.0)
    logged = [r.fields["event_id"] for r in caplog.records if r.msg == "event processed"]  # type: ignore[attr-defined]
    assert logged == ["evt_00010"]  # the one a rule acted on
