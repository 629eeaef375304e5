"""A STOP stays in force when the engine is SIGKILLed right after it (disk and Redis).

The kill comes once the STOP event is acknowledged: the opt-out is written before its
confirmation is sent, so a confirmed STOP is a stored one."""

from __future__ import annotations

import textwrap
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from botengine.testing import FakeWawp, eventually, make_event
from tests.faults.harness import HEADERS, EngineProcess, redis_url_for

pytestmark = pytest.mark.slow

LEASE = {"BOTENGINE_REDIS_LEASE": "3s"}  # how long a killed worker's partitions wait for it
PERSON = "447700900001@c.us"
CATCH_ALL = """
rules:
  - name: thanks
    if: {chat: contact}
    do: [{reply: "Thanks for writing"}]
"""


def post(engine: EngineProcess, text: str) -> None:
    event = make_event(text=text, sender=PERSON)
    response = httpx.post(engine.url + "/webhook/whatsapp", json=event, headers=HEADERS)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("backend", ["disk", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_stop_survives_a_sigkill(backend: str, tmp_path: Path, fake: FakeWawp) -> None:
    with ExitStack() as stack:
        redis_url = redis_url_for(backend, stack, tmp_path / "redis")
        engine = stack.enter_context(
            EngineProcess(tmp_path, textwrap.dedent(CATCH_ALL), fake.url, redis_url=redis_url, env=LEASE)
        )
        post(engine, "Stop!")  # the built-in STOP: no rule of ours
        fake.wait_for(1, "/v2/send/text")
        eventually(lambda: engine.metric("botengine_events_processed_total") >= 1, 10, "the ack")
        engine.kill()
        engine.start()
        post(engine, "hello")
        skipped = "botengine_sends_opted_out_total"
        eventually(lambda: engine.metric(skipped) >= 1, 30, "the reply to be skipped")  # Redis: the lease
        post(engine, "START")
        fake.wait_for(3, "/v2/send/text", timeout=30)
        engine.stop()
    said = [c.json["message"] for c in fake.calls_to("/v2/send/text")]
    assert said == [
        "You will get no more messages from us. Write START to get them again.",
        "Welcome back! You will get our messages again. Write STOP to stop them.",
        "Thanks for writing",
    ]
