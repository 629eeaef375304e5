"""Quiet windows end to end: the real engine on loopback, the fake Wawp, real storage.

Three quick messages get one answer that knows all three; a message after the window gets its own;
a customer who never stops typing is answered after the maximum wait; events that are not incoming
messages, and rules without a window, answer at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from botengine.bursts import MAX_MESSAGES
from botengine.quiet import parse_quiet_window
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine
from botengine.testing.waiting import eventually
from tests.actions.conftest import EngineFactory
from tests.conftest import REDIS_URL

WINDOW = "3s"  # long beside posting three messages on loopback (milliseconds), even on a busy machine

BURST_RULES = f"""
rules:
  - name: answer
    debounce: {WINDOW}
    do:
      - reply:
          text: >-
            {{{{ messages | length }}}} messages: {{{{ text | replace('\\n', ' / ') }}}}
            [{{{{ message_ids | length }}}} ids]
          quote: true
"""


def texts(fake: FakeWawp) -> list[str]:
    return [call.json["message"] for call in fake.calls_to("/v2/send/text")]


def traces_with_a_burst(bot: RunningEngine) -> list[tuple[str, object]]:
    traces = bot.call(lambda e: e.storage.scan("trace:"))
    return (
        traces
        if any(isinstance(t, dict) and str(t.get("event_id")).startswith("burst-") for _, t in traces)
        else []
    )


def post_all(bot: RunningEngine, events: Sequence[Mapping[str, Any]]) -> None:
    for event in events:
        assert bot.post(event).status_code == 200


def test_three_quick_messages_get_one_answer_that_knows_all_three(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    events = [make_event(text=t) for t in ("hi", "I want to order", "a pizza")]
    with engine(BURST_RULES) as bot:
        post_all(bot, events)
        bot.wait_processed(3)
        [call] = fake.wait_for(1, "/v2/send/text")
        trace = bot.wait_until(lambda: traces_with_a_burst(bot), what="the trace of the answer")
    assert call.json["message"] == "3 messages: hi / I want to order / a pizza [3 ids]"
    assert call.json["reply_to"] == events[-1]["payload"]["id"]
    held = [t for _, t in trace if isinstance(t, dict) and t.get("summary") == "held"]
    assert len(held) == 3, "each held message has a trace that says so"
    assert all(r["outcome"] == "held" and "burst-" in r["reason"] for t in held for r in t["rules"])
    [answer] = [
        t for _, t in trace if isinstance(t, dict) and str(t.get("event_id", "")).startswith("burst-")
    ]
    assert answer["summary"] == "done" and answer["text"] == "hi\nI want to order\na pizza"


@pytest.mark.redis
def test_on_redis_three_quick_messages_get_one_answer(
    engine: EngineFactory, fake: FakeWawp, redis_namespace: str
) -> None:
    with engine(BURST_RULES, redis_url=REDIS_URL, redis_namespace=redis_namespace) as bot:
        post_all(bot, [make_event(text=t) for t in ("hi", "I want to order", "a pizza")])
        fake.wait_for(1, "/v2/send/text")
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="no burst left waiting")
    assert texts(fake) == ["3 messages: hi / I want to order / a pizza [3 ids]"]


def test_a_message_after_the_window_gets_its_own_answer(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(BURST_RULES) as bot:
        post_all(bot, [make_event(text="one"), make_event(text="two")])
        fake.wait_for(1, "/v2/send/text")
        post_all(bot, [make_event(text="three")])
        fake.wait_for(2, "/v2/send/text")
    assert texts(fake) == ["2 messages: one / two [2 ids]", "1 messages: three [1 ids]"]


def test_each_chat_and_each_person_in_a_group_has_a_burst_of_its_own(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    group = "120363025912345678@g.us"
    alice, bob = "447700900001@c.us", "447700900002@c.us"
    events = [
        make_event(text="a1", sender=alice, chat=group),
        make_event(text="b1", sender=bob, chat=group),
        make_event(text="a2", sender=alice, chat=group),
        make_event(text="c1", sender="447700900003@c.us"),
    ]
    with engine(BURST_RULES) as bot:
        post_all(bot, events)
        fake.wait_for(3, "/v2/send/text")
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="no burst left waiting")
    assert sorted(texts(fake)) == [
        "1 messages: b1 [1 ids]",
        "1 messages: c1 [1 ids]",
        "2 messages: a1 / a2 [2 ids]",
    ]


def test_a_customer_who_keeps_typing_is_answered_after_the_maximum_wait(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = """
    rules:
      - name: answer
        debounce: {wait: 4s, max: 5s}
        do: [{reply: "{{ messages | length }}"}]
    """
    sent = 0
    with engine(rules) as bot, httpx.Client(timeout=10) as client:
        url = bot.url + bot.settings.webhook_path

        def keep_typing() -> bool:
            nonlocal sent
            client.post(url, json=make_event(text=f"m{sent}")).raise_for_status()
            sent += 1
            return bool(fake.calls_to("/v2/send/text"))

        # a message every 0.3s (well under the 4s window, slower than a flood), until an answer comes
        eventually(keep_typing, timeout=30, what="an answer while the customer keeps typing", every=0.3)
    first = int(texts(fake)[0])
    assert 1 < first < sent, "answered with what had come by the maximum wait, while messages kept coming"
    assert first < MAX_MESSAGES, "by the maximum wait, not because the burst was a flood"


def test_rules_without_a_window_and_other_events_answer_at_once(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = f"""
    rules:
      - name: stop-word
        if: {{equals: halt}}
        do: [{{reply: "ok, stopped"}}]
        stop: true
      - name: thanks-for-the-heart
        on: message.reaction
        debounce: {WINDOW}
        do: [{{reply: "thanks"}}]
      - name: answer
        debounce: {WINDOW}
        do: [{{reply: "{{{{ text }}}}"}}]
    """
    with engine(rules) as bot:
        post_all(bot, [make_event("message.reaction", emoji="❤"), make_event(text="halt")])
        assert [c.json["message"] for c in fake.wait_for(2, "/v2/send/text")] == ["thanks", "ok, stopped"]
        post_all(bot, [make_event(text="hello")])
        fake.wait_for(3, "/v2/send/text")
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="no burst left waiting")
    # `stop` answered at once with stop: true, so it joined no burst: only "hello" was held
    assert texts(fake) == ["thanks", "ok, stopped", "hello"]


def test_the_engine_wide_window_applies_to_rules_without_their_own(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = """
    rules:
      - name: answer
        do: [{reply: "{{ messages | length }}"}]
      - name: urgent
        debounce: off
        if: {contains: urgent}
        do: [{reply: "right away"}]
    """
    with engine(rules, debounce=parse_quiet_window(WINDOW)) as bot:
        post_all(bot, [make_event(text="a"), make_event(text="urgent b")])
        fake.wait_for(2, "/v2/send/text")
    assert texts(fake) == ["right away", "2"]  # "urgent b" answered at once, and again in the burst


def test_the_dashboard_shows_held_messages_as_held_not_lost(engine: EngineFactory, fake: FakeWawp) -> None:
    token = "dashboard-token"
    with (
        engine(BURST_RULES, admin_token=token) as bot,
        httpx.Client(base_url=bot.url + "/dashboard") as client,
    ):
        post_all(bot, [make_event(text="where is my order?")])
        bot.wait_processed(1)
        client.post("/login", data={"token": token})
        rows = client.get("/events", params={"outcome": "held"}).text.split('<tr class="event">')[1:]
        fake.wait_for(1, "/v2/send/text")
        bot.wait_until(lambda: traces_with_a_burst(bot), what="the trace of the answer")
        answered = client.get("/events", params={"q": "burst-"}).text.split('<tr class="event">')[1:]
    assert len(rows) == 1 and "held for a quiet window" in rows[0] and "failed" not in rows[0]
    assert len(answered) == 1 and "where is my order?" in answered[0] and "done" in answered[0]


def test_stop_is_answered_at_once_and_joins_no_burst(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(BURST_RULES) as bot:
        post_all(bot, [make_event(text="hello"), make_event(text="STOP")])
        bot.wait_processed(2)
        held = bot.wait_until(lambda: traces_with_a_burst(bot), what="the burst answered")
    [answer] = [t for _, t in held if isinstance(t, dict) and str(t.get("event_id")).startswith("burst-")]
    assert answer["text"] == "hello", "STOP did not join the burst"


def test_a_cooldown_counts_a_burst_as_one_event(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = f"""
    rules:
      - name: answer
        debounce: {WINDOW}
        cooldown: 1h
        do: [{{reply: "{{{{ text }}}}"}}]
    """
    with engine(rules) as bot:
        post_all(bot, [make_event(text="one"), make_event(text="two")])
        fake.wait_for(1, "/v2/send/text")
        post_all(bot, [make_event(text="three")])

        def second_burst() -> list[object]:
            traces = [t for _, t in bot.call(lambda e: e.storage.scan("trace:")) if isinstance(t, dict)]
            return [t for t in traces if "burst-" in str(t.get("event_id")) and t.get("text") == "three"]

        [trace] = bot.wait_until(second_burst, what="the second burst's trace")
    assert texts(fake) == ["one\ntwo"], "the burst answered once, the next one in cooldown"
    assert isinstance(trace, dict) and [r["outcome"] for r in trace["rules"]] == ["cooldown"]


EDITED = """
rules:
  - name: answer
    debounce: WINDOW
    do: [{reply: "got {{ text }}"}]
  - name: price
    if: {contains: price}
    do: [{reply: "price list"}]
"""


def test_a_burst_held_before_its_window_was_edited_is_answered_by_its_rule_once(
    tmp_path: Path, fake: FakeWawp
) -> None:
    """The owner lengthens the window while a burst waits (a restart between): the rule that held
    it answers it; the rule that answered at once does not answer it again."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(EDITED.replace("WINDOW", "3s"))
    with running_engine(rules, tmp_path / "data", wawp_url=fake.url) as bot:
        bot.post(make_event(text="price?"))
        fake.wait_for(1, "/v2/send/text")  # the price rule answers at once; the burst waits
    (rules / "r.yaml").write_text(EDITED.replace("WINDOW", "4s"))
    with running_engine(rules, tmp_path / "data", wawp_url=fake.url) as bot:
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the burst's job", timeout=15)
    assert texts(fake) == ["price list", "got price?"]
