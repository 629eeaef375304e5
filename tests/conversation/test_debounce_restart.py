"""A burst survives the death of the engine: SIGKILL mid-burst, restart, nothing lost or repeated.

The engine is a real process (`botengine serve`) killed with SIGKILL while two messages of a burst
wait for their quiet window, then started again on the same store (the data directory, or its
Redis namespace). A third message comes after the restart. Whether it joins the burst depends on
how long the restart took, so the test asserts what must hold either way: the two held before the
kill are answered together, and every message is answered exactly once.
"""

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
from tests.faults.harness import HEADERS, EngineProcess

pytestmark = pytest.mark.slow

RULES = """
rules:
  - name: answer
    debounce: 5s
    do:
      - reply: "{{ message_ids | join(' ') }}"
        uncertain: skip
"""


@pytest.fixture(params=["disk", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "redis":
        require_redis()
        yield REDIS_URL
    else:
        yield None


def post(engine: EngineProcess, event: Mapping[str, Any]) -> None:
    url = engine.url + "/webhook/whatsapp"
    response = httpx.post(url, content=json.dumps(event).encode(), headers=HEADERS, timeout=10)
    assert response.json().get("status") == "accepted"


def answered(fake: FakeWawp) -> list[str]:
    """The message ids the replies name (each reply names its burst's)."""
    return [i for call in fake.calls_to("/v2/send/text") for i in call.json["message"].split()]


def settled(engine: EngineProcess) -> bool:
    stored = engine.stored()
    return not stored.jobs and not stored.depth


def held(engine: EngineProcess, count: int) -> bool:
    return engine.metric('botengine_events_processed_total{outcome="held"') >= count


def test_sigkill_mid_burst_loses_nothing_and_answers_once(
    tmp_path: Path, fake: FakeWawp, backend: str | None
) -> None:
    events = [make_event(text=f"m{n}") for n in range(3)]
    ids = [event["payload"]["id"] for event in events]
    # Redis: the killed worker's partitions wait out their lease before the restarted one takes them
    env = {"BOTENGINE_REDIS_LEASE": "3s"}
    engine = EngineProcess(tmp_path, RULES, fake.url, redis_url=backend, env=env)
    try:
        with engine:
            post(engine, events[0])
            post(engine, events[1])
            eventually(lambda: held(engine, 2), 20, "two messages held")
            engine.kill()  # mid-burst: the window has 5s to go
            engine.start()
            post(engine, events[2])
            eventually(lambda: set(answered(fake)) >= set(ids), 60, "every message answered")
            eventually(lambda: settled(engine), 30, "nothing left waiting in the store")
        assert not engine.stored().letters
    finally:
        if backend is not None:
            asyncio.run(drop_namespace(engine.namespace))
    assert sorted(answered(fake)) == sorted(ids), "each message answered once"
    bursts = [call.json["message"].split() for call in fake.calls_to("/v2/send/text")]
    assert any(ids[:2] == burst[:2] for burst in bursts), "the two held before the kill answered together"


def test_sigkill_while_a_burst_is_answered_sends_its_answer_once(
    tmp_path: Path, fake: FakeWawp, backend: str | None
) -> None:
    events = [make_event(text=f"m{n}") for n in range(2)]
    ids = [event["payload"]["id"] for event in events]
    fake.fail("timeout", times=1, path="/v2/send/text", delay=60)  # the answer hangs in flight
    engine = EngineProcess(tmp_path, RULES, fake.url, redis_url=backend, env={"BOTENGINE_REDIS_LEASE": "3s"})
    try:
        with engine:
            post(engine, events[0])
            post(engine, events[1])
            fake.wait_for(1, "/v2/send/text", timeout=30)
            engine.kill()  # the burst is closed, its reply left but no answer came back
            engine.start()
            eventually(lambda: settled(engine), 60, "the burst's job run again and finished")
            skipped = [line for line in engine.log_lines() if line.get("msg") == "action uncertain"]
        assert not engine.stored().letters
    finally:
        if backend is not None:
            asyncio.run(drop_namespace(engine.namespace))
    # the job ran again after the restart: the reply may have gone out, so `uncertain: skip` skips it
    assert [call.json["message"].split() for call in fake.calls_to("/v2/send/text")] == [ids]
    assert len(skipped) == 1
