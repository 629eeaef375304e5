"""A chat with a person stays with the person when the engine dies: SIGKILL right after the
handover, restart on the same store (the data directory, or its Redis namespace), the bot stays
quiet there until `#bot` gives the chat back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from botengine.testing import FakeWawp, make_event
from botengine.testing.waiting import eventually
from tests.conftest import REDIS_URL, drop_namespace, require_redis
from tests.conversation.test_handover import RULES, person_writes, replies
from tests.faults.harness import HEADERS, EngineProcess

pytestmark = pytest.mark.slow


@pytest.fixture(params=["disk", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "redis":
        require_redis()
        yield REDIS_URL
    else:
        yield None


def post(engine: EngineProcess, event: Mapping[str, Any], processed: int) -> None:
    """Post `event` and wait until the engine has processed `processed` events since it started."""
    url = engine.url + "/webhook/whatsapp"
    response = httpx.post(url, content=json.dumps(event).encode(), headers=HEADERS, timeout=10)
    assert response.json().get("status") == "accepted"
    total = "botengine_events_processed_total"
    eventually(lambda: engine.metric(total) >= processed, 20, f"{processed} processed events")


def test_sigkill_after_a_handover_keeps_the_chat_with_the_person(
    tmp_path: Path, fake: FakeWawp, backend: str | None
) -> None:
    rules = RULES.replace("FOR", "12h").replace("OTHER", "447700900123@c.us")
    engine = EngineProcess(tmp_path, rules, fake.url, redis_url=backend, env={"BOTENGINE_REDIS_LEASE": "3s"})
    try:
        with engine:
            post(engine, person_writes("Sam here, I'll sort it out"), 1)
            engine.kill()  # the moment after: no shutdown, nothing flushed on the way out
            engine.start()
            post(engine, make_event(text="hello?"), 1)
            assert replies(fake) == []  # still with Sam
            post(engine, person_writes("#bot"), 2)
            post(engine, make_event(text="hello"), 3)
            eventually(lambda: replies(fake), 20, "the bot's reply")
    finally:
        if backend is not None:
            asyncio.run(drop_namespace(engine.namespace))
    assert replies(fake) == ["Hi! How can I help?"]
