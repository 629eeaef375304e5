"""A person put on a list stays on it when the engine is SIGKILLed right after (disk and Redis).

The kill comes once the event is acknowledged: a kill between the reply and its mark in the
ledger makes the reply uncertain, which its own policy decides (tests/faults/test_sigkill.py)."""

from __future__ import annotations

import textwrap
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from botengine.testing import FakeWawp, eventually, make_event
from tests.conversation.test_lists import CLUB, said
from tests.faults.harness import HEADERS, EngineProcess, redis_url_for

pytestmark = pytest.mark.slow

LEASE = {"BOTENGINE_REDIS_LEASE": "3s"}  # how long a killed worker's partitions wait for it


def post(engine: EngineProcess, text: str) -> None:
    response = httpx.post(engine.url + "/webhook/whatsapp", json=make_event(text=text), headers=HEADERS)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("backend", ["disk", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_member_survives_a_sigkill(backend: str, tmp_path: Path, fake: FakeWawp) -> None:
    with ExitStack() as stack:
        redis_url = redis_url_for(backend, stack, tmp_path / "redis")
        engine = stack.enter_context(
            EngineProcess(tmp_path, textwrap.dedent(CLUB), fake.url, redis_url=redis_url, env=LEASE)
        )
        post(engine, "join")
        fake.wait_for(1, "/v2/send/text")  # the reply comes after add_to: the member is stored
        eventually(lambda: engine.metric("botengine_events_processed_total") >= 1, 10, "the ack")
        engine.kill()
        engine.start()
        post(engine, "hello")
        fake.wait_for(2, "/v2/send/text", timeout=30)  # Redis: once the killed worker's lease ran out
        engine.stop()
    assert said(fake) == ["You are on the VIP list.", "Hello VIP"]
