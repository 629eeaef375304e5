"""Scale out on Redis: 2 receivers and 2 workers in separate processes share one Redis.

A few thousand events, every fifth delivered a second time to the other receiver, are posted to
both receivers; one worker is SIGKILLed mid-stream. Every event must be processed, no duplicate
delivery may be processed, only events the killed worker had taken and not acknowledged may run a
second time, and each chat's events are processed in the order they were accepted.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from botengine.testing import eventually, eventually_async, make_event
from botengine.testing.server import free_port
from tests.conftest import REDIS_URL, drop_namespace, require_redis
from tests.test_crash_recovery import HEADERS, processed, start_server

pytestmark = [pytest.mark.slow, pytest.mark.redis]

CHATS = 40
PER_CHAT = 60


async def post_chat(
    client: httpx.AsyncClient, receivers: list[str], events: list[dict[str, Any]], accepted: list[str]
) -> None:
    """One chat's events in order: each sent once it and its duplicates were answered."""
    for n, event in enumerate(events):
        body = json.dumps(event).encode()
        first = receivers[n % 2]
        response = await client.post(first, content=body, headers=HEADERS)
        assert response.status_code == 200, response.text
        if response.json()["status"] == "accepted":
            accepted.append(str(event["id"]))
        if n % 5 == 0:  # the sender retrying, at the other receiver
            again = await client.post(receivers[(n + 1) % 2], content=body, headers=HEADERS)
            assert again.json() == {"status": "duplicate"}


def test_two_receivers_two_workers_one_killed(tmp_path: Path) -> None:
    require_redis()
    namespace = f"botengine-test-{secrets.token_hex(6)}"
    shared = ["--redis-url", REDIS_URL, "--redis-namespace", namespace, "--redis-lease", "2s"]
    nodes: dict[str, Any] = {}
    try:
        for name in ("receiver-a", "receiver-b", "worker-a", "worker-b"):
            port = free_port()
            role = name.split("-")[0]
            log = tmp_path / f"{name}.log"
            extra = [*shared, "--role", role, "--concurrency", "8"]
            nodes[name] = (start_server(tmp_path / name, port, log, extra), port, log)
        receivers = [f"http://127.0.0.1:{nodes[r][1]}/webhook/whatsapp" for r in ("receiver-a", "receiver-b")]
        chats = [f"4474411{n:05d}@c.us" for n in range(CHATS)]
        by_chat = {c: [make_event(text=f"{c} {i}", sender=c) for i in range(PER_CHAT)] for c in chats}
        order = {str(e["id"]): (c, i) for c, events in by_chat.items() for i, e in enumerate(events)}
        accepted: list[str] = []

        async def load_and_kill() -> None:
            async with httpx.AsyncClient(timeout=10) as client:
                loads = [
                    asyncio.create_task(post_chat(client, receivers, by_chat[c], accepted)) for c in chats
                ]
                killer_log = nodes["worker-a"][2]
                await eventually_async(lambda: len(processed(killer_log)) >= 300, 60, "300 events", 0.05)
                nodes["worker-a"][0].send_signal(signal.SIGKILL)
                await asyncio.gather(*loads)

        asyncio.run(load_and_kill())
        assert len(accepted) == CHATS * PER_CHAT  # every first delivery accepted, every repeat not
        worker_logs = [nodes["worker-a"][2], nodes["worker-b"][2]]
        eventually(
            lambda: {event_id for log in worker_logs for _, event_id in processed(log)} >= set(order),
            60,
            "every event processed",
            0.2,
        )
        killed = processed(nodes["worker-a"][2])
        survivor = processed(nodes["worker-b"][2])
    finally:
        for process, _, _ in nodes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _, _ in nodes.values():
            process.wait(20)
        asyncio.run(drop_namespace(namespace))

    counts = Counter(event_id for _, event_id in killed + survivor)
    assert set(counts) == set(order), f"{len(set(order) - set(counts))} events never processed"
    assert killed and survivor, "both workers should have had partitions"
    twice = {event_id for event_id, n in counts.items() if n > 1}
    assert max(counts.values()) <= 2
    assert twice <= {event_id for _, event_id in killed}, "only the killed worker's events may repeat"
    # per chat, in the order they happened (first processing of each event), oldest first
    firsts: dict[str, float] = {}
    for at, event_id in sorted(killed + survivor):
        firsts.setdefault(event_id, at)
    sequence: dict[str, list[int]] = defaultdict(list)
    for event_id, _ in sorted(firsts.items(), key=lambda item: item[1]):
        chat, index = order[event_id]
        sequence[chat].append(index)
    assert all(indices == sorted(indices) for indices in sequence.values()), "a chat's order was broken"
    print(
        f"\n{len(killed)} processed by the killed worker, {len(survivor)} by the survivor, {len(twice)} twice"
    )
