"""`later`: follow-ups that fire after a delay, are cancelled by a read or a reply, and survive restarts."""

from __future__ import annotations

import time
from pathlib import Path

from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine
from tests.actions.conftest import EngineFactory

FOLLOW_UP = """
rules:
  - name: follow-up
    description: the agent's reply was not read within the delay, remind them
    on: message
    if: {from_me: true, chat: contact}
    do:
      - later:
          after: AFTER
          unless: [read, replied]
          do:
            - reply: "Did you see our answer, {{ chat.id }}?"
"""
CUSTOMER = "15550001111@c.us"


def agent_reply(ts_ms: int) -> dict:  # type: ignore[type-arg]
    return make_event(text="Your parcel ships today", sender=CUSTOMER, from_me=True, timestamp_ms=ts_ms)


def test_a_follow_up_fires_after_its_delay(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(FOLLOW_UP.replace("AFTER", "1s")) as bot:
        posted = time.time()
        bot.post(agent_reply(int(posted * 1000)))
        [call] = fake.wait_for(1, "/v2/send/text")
    assert call.at - posted >= 0.95
    assert call.json == {"chatId": CUSTOMER, "message": f"Did you see our answer, {CUSTOMER}?"}


def test_a_read_receipt_cancels_the_follow_up(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(FOLLOW_UP.replace("AFTER", "1s")) as bot:
        now = int(time.time() * 1000)
        bot.post(agent_reply(now))
        bot.post(make_event("message.ack", sender=CUSTOMER, ack=3, timestamp_ms=now + 200))
        bot.wait_processed(2)
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the follow-up to run")
        time.sleep(0.3)
    assert fake.calls_to("/v2/send/text") == []


def test_a_reply_from_the_person_cancels_it_but_an_old_read_does_not(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(FOLLOW_UP.replace("AFTER", "1s")) as bot:
        now = int(time.time() * 1000)
        bot.post(make_event("message.ack", sender=CUSTOMER, ack=3, timestamp_ms=now - 5000))  # before
        bot.post(agent_reply(now))
        bot.post(make_event(text="thanks!", sender="15550009999@c.us", timestamp_ms=now + 100))  # other chat
        [call] = fake.wait_for(1, "/v2/send/text")
        assert call.json["chatId"] == CUSTOMER
        bot.post(agent_reply(now + 2000))
        bot.post(make_event(text="got it", sender=CUSTOMER, timestamp_ms=now + 2500))
        bot.wait_processed(5)
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the follow-up to run")
    assert len(fake.calls_to("/v2/send/text")) == 1


def test_a_follow_up_survives_a_restart_and_runs_once(tmp_path: Path, fake: FakeWawp) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "r.yaml").write_text(FOLLOW_UP.replace("AFTER", "2s"))
    url = fake.url
    event = agent_reply(int(time.time() * 1000))
    with running_engine(rules_dir, tmp_path / "data", wawp_url=url) as bot:
        bot.post(event)
        bot.wait_processed(1)
        assert len(bot.call(lambda e: e.storage.jobs())) == 1
    assert fake.calls_to("/v2/send/text") == []  # stopped before it was due
    with running_engine(rules_dir, tmp_path / "data", wawp_url=url) as bot:
        assert bot.post(event).json() == {"status": "duplicate"}  # Wawp retrying: no second job
        fake.wait_for(1, "/v2/send/text", timeout=10)
        time.sleep(0.5)
        assert bot.call(lambda e: e.storage.jobs()) == []
    assert len(fake.calls_to("/v2/send/text")) == 1
