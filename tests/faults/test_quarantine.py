"""An event whose processing kills the engine twice is set aside, not processed a third time.

The test plays the OOM killer: one event's rule calls a hook that never answers, and the engine
is SIGKILLed while that event is in flight, twice. After the second restart the event goes to
the dead-letter queue with the reason (quarantined) instead of taking the engine down again,
while the other events are answered as usual and /healthz answers throughout.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from botengine.testing import FakeWawp, make_event
from botengine.testing.waiting import eventually
from tests.faults.harness import (
    EngineProcess,
    HealthProbe,
    Stream,
    Tally,
    check,
    redis_url_for,
    report,
    settle,
)

pytestmark = pytest.mark.slow

RULES = """
rules:
  - name: poison
    on: message
    if: {contains: poison}
    stop: true
    do:
      - webhook: "WAWP/hooks/hang"
        timeout: 60s
  - name: echo
    on: message
    do:
      - reply: "got {{ event_id }}"
"""


@pytest.mark.parametrize("backend", ["disk", pytest.param("redis", marks=pytest.mark.redis)])
def test_an_event_that_kills_the_engine_twice_is_quarantined(
    backend: str, tmp_path: Path, fake: FakeWawp
) -> None:
    fake.fail("timeout", times=None, path="/hooks/hang", delay=120)
    poison = make_event(text="poison pill", sender="447720000001@c.us")
    others = [make_event(text=f"m{i}", sender=f"44772000{i % 20:04d}@c.us") for i in range(60)]
    with ExitStack() as stack:
        redis_url = redis_url_for(backend, stack, tmp_path / "redis")
        engine = EngineProcess(
            tmp_path,
            RULES.replace("WAWP", fake.url),
            fake.url,
            redis_url=redis_url,
            env={"BOTENGINE_REDIS_LEASE": "3s"},
        )
        stack.enter_context(engine)
        probe = stack.enter_context(HealthProbe(engine.url))
        with Stream(engine.url, [poison]) as first:
            pass
        assert first.accepted == {poison["id"]}
        for crash in (1, 2):
            eventually(
                lambda n=crash: len(fake.calls_to("/hooks/hang")) >= n, 60, f"poison in flight ({crash})"
            )
            engine.kill()  # the OOM killer, while the poison is being processed
            engine.start()
        with Stream(engine.url, others) as stream:
            pass
        tally = settle(engine, fake, stream.accepted | {poison["id"]}, within=60)
        quarantined = _quarantined(engine, poison["id"])
        calls = len(fake.calls_to("/hooks/hang"))
    report(
        f"quarantine-{backend}",
        poison_runs=calls,
        quarantined=int(quarantined is not None),
        others_answered=len(set(tally.replies) & stream.accepted),
        others_accepted=len(stream.accepted),
        healthz_stall_s=round(probe.longest, 3),
    )
    check(calls == 2, "the poison ran again after it had killed the engine twice")
    check(quarantined is not None and "died 2 times" in quarantined["reason"], "the poison was not set aside")
    check(Tally.of(stream.accepted, fake).unsettled == set(), "the other events were not all answered")
    check(probe.longest < 1.0, f"/healthz took {probe.longest:.2f}s to answer")


def _quarantined(engine: EngineProcess, event_id: str) -> dict[str, Any] | None:
    """The poison's dead letter (as stored: this test also runs against older versions)."""
    for letter in engine.stored().letters:
        if letter.get("kind") == "event" and letter.get("event_id") == event_id:
            return letter
    return None
