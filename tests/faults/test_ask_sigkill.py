"""SIGKILL the engine in the middle of a three-step form: the waiting question is neither lost nor
asked again, and a time limit that fell due while the engine was dead runs once after the restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from botengine.testing import FakeWawp, make_event
from botengine.testing.waiting import eventually
from tests.conftest import REDIS_URL, drop_namespace, require_redis
from tests.faults.harness import HEADERS, EngineProcess

pytestmark = pytest.mark.slow

FORM = """
rules:
  - name: order-form
    if: {equals: order}
    do:
      - ask: "Your order number?"
        as: order
        expect: number
        wait: WAIT
        else: [{reply: "No answer; write order to start again."}]
      - ask: "Address for order {{ state.order }}?"
        as: address
      - ask: "Send {{ state.order }} to {{ state.address }}? yes/no"
        as: confirm
        expect: [yes, no]
      - reply: "{{ 'Done' if state.confirm == 'yes' else 'No' }}: {{ state.order }}, {{ state.address }}"
"""


@pytest.fixture(params=["disk", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The store the engine keeps its questions in: the data directory, or a Redis namespace."""
    if request.param == "redis":
        require_redis()
        yield REDIS_URL
    else:
        yield None


@contextmanager
def engine_on(tmp_path: Path, rules: str, fake: FakeWawp, backend: str | None) -> Iterator[EngineProcess]:
    env = {"BOTENGINE_LOG_EVENTS": "all", "BOTENGINE_REDIS_LEASE": "3s"}
    engine = EngineProcess(tmp_path, rules, fake.url, redis_url=backend, env=env)
    try:
        with engine:
            yield engine
    finally:
        if backend is not None:
            asyncio.run(drop_namespace(engine.namespace))


def said(fake: FakeWawp) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.status == 200]


def post(engine: EngineProcess, text: str) -> str:
    event = make_event(text=text)
    answer = httpx.post(
        f"{engine.url}/webhook/whatsapp", content=json.dumps(event), headers=HEADERS, timeout=10
    )
    assert answer.json() == {"status": "accepted"}
    return str(event["id"])


def processed(engine: EngineProcess, event_id: str) -> bool:
    return any(
        line.get("msg") == "event processed" and line.get("event_id") == event_id
        for line in engine.log_lines()
    )


def test_a_form_goes_on_after_a_sigkill_between_its_steps(
    tmp_path: Path, fake: FakeWawp, backend: str | None
) -> None:
    with engine_on(tmp_path, FORM.replace("WAIT", "10m"), fake, backend) as engine:
        post(engine, "order")
        fake.wait_for(1, "/v2/send/text")
        answer = post(engine, "10423")
        fake.wait_for(2, "/v2/send/text")
        eventually(lambda: processed(engine, answer), 10, "the answer processed")
        engine.kill()  # between two steps: the second question waits in the store
        engine.start()
        post(engine, "1 High St")
        fake.wait_for(3, "/v2/send/text")
        post(engine, "YES")
        fake.wait_for(4, "/v2/send/text")
        time.sleep(0.5)  # room for a repeated question to show up
        stored = engine.stored()
    assert said(fake) == [
        "Your order number?",
        "Address for order 10423?",
        "Send 10423 to 1 High St? yes/no",
        "Done: 10423, 1 High St",
    ]
    assert stored.jobs == 0 and stored.letters == []


def test_a_time_limit_that_fell_due_while_dead_runs_once_after_the_restart(
    tmp_path: Path, fake: FakeWawp, backend: str | None
) -> None:
    with engine_on(tmp_path, FORM.replace("WAIT", "2s"), fake, backend) as engine:
        asked = post(engine, "order")
        fake.wait_for(1, "/v2/send/text")
        # once settled: a kill while the question is on its way is `uncertain:` (resend: asked again)
        eventually(lambda: processed(engine, asked), 10, "the question's event processed")
        engine.kill()
        time.sleep(2.5)  # the time limit passes while no engine runs
        engine.start()
        fake.wait_for(2, "/v2/send/text", timeout=15)
        time.sleep(0.5)
        post(engine, "10423")  # too late: an ordinary message, which no rule answers
        time.sleep(0.5)
        stored = engine.stored()
    assert said(fake) == ["Your order number?", "No answer; write order to start again."]
    assert stored.jobs == 0
