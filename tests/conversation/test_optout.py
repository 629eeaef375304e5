"""STOP stops everything: replies, sends, `later` follow-ups and broadcasts skip a person who
opted out (recorded, counted, never a failure), the confirmation still goes, START lifts it.

End to end: the real engine on loopback, its real store, the fake Wawp."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from botengine.actions import ACTIONS, ActionContext, Services
from botengine.actions.consent import OptedOut, refusal
from botengine.actions.outgoing import recipient
from botengine.dashboard.traces import TraceStore
from botengine.optouts import StoreOptOuts, is_person
from botengine.storage.memory import MemoryStorage
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine
from tests.actions.conftest import EngineFactory
from tests.conftest import REDIS_URL
from tests.rules_helpers import view

CUSTOMER = "447700900001@c.us"
OTHER = "447700900002@c.us"
ADMIN = "447700900999@c.us"
GROUP = "120363025912345678@g.us"

SHOP = """
rules:
  - name: stop
    if: {equals: stop}
    do:
      - opt_out: sender
      - reply: "Done: no more messages from us. Write START to come back."
  - name: start
    if: {equals: start}
    do: [{opt_in: sender}, {reply: "Welcome back!"}]
  - name: order
    if: {equals: order, chat: contact}
    do:
      - reply: "Thanks for your order"
      - later: {after: AFTER, do: [{reply: "How was your order?"}]}
  - name: in-the-group
    if: {equals: hello, chat: group}
    do: [{reply: "Hello everyone"}]
  - name: ping
    if: {starts_with: "ping "}
    do: [{send: {to: "{{ text | replace('ping ', '') }}", text: "A message for you"}}]
  - name: campaign
    if: {equals: campaign}
    do: [{broadcast: {to: customers, text: "Our sale starts today"}}]
"""


def shop(after: str = "1s") -> str:
    return SHOP.replace("AFTER", after)


def texts_to(fake: FakeWawp, chat: str) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.json["chatId"] == chat]


def opted_out_count(bot: RunningEngine, kind: str) -> float:
    return bot.engine.metrics.opted_out.labels(kind)._value.get()


def skipped_in_traces(bot: RunningEngine) -> list[dict[str, Any]]:
    [traces] = [f.__self__ for f in bot.engine.processor.listeners if isinstance(f.__self__, TraceStore)]
    recent = bot.call(lambda e: traces.recent(limit=None))
    return [a for t in recent for a in t["actions"] if a["status"] == "skipped"]


@pytest.fixture(autouse=True)
def customers(tmp_path: Path) -> Path:
    lists = tmp_path / "rules" / "lists"
    lists.mkdir(parents=True)
    (lists / "customers.txt").write_text(f"{CUSTOMER}\n{OTHER}\n", encoding="utf-8")
    return lists


def test_stop_blocks_a_later_follow_up_and_a_send_and_start_lifts_it(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(shop("1s")) as bot:
        bot.post(make_event(text="order", sender=CUSTOMER))
        bot.post(make_event(text="stop", sender=CUSTOMER))  # before the follow-up falls due
        fake.wait_for(2, "/v2/send/text")
        bot.wait_until(lambda: opted_out_count(bot, "reply") == 1, what="the follow-up to be skipped")
        bot.post(make_event(text=f"ping {CUSTOMER}", sender=ADMIN))
        bot.wait_until(lambda: opted_out_count(bot, "send") == 1, what="the send to be skipped")
        bot.post(make_event(text="start", sender=CUSTOMER))
        fake.wait_for(3, "/v2/send/text")
        bot.post(make_event(text=f"ping {CUSTOMER}", sender=ADMIN))
        fake.wait_for(4, "/v2/send/text")
        skipped = skipped_in_traces(bot)
        letters = bot.dead_letters()
    assert texts_to(fake, CUSTOMER) == [
        "Thanks for your order",
        "Done: no more messages from us. Write START to come back.",
        "Welcome back!",
        "A message for you",
    ]
    assert sorted(a["action"] for a in skipped) == ["reply", "send"]
    assert all(a["detail"].startswith("opted out: 447700900001@c.us") for a in skipped)
    assert letters == []


def test_a_broadcast_skips_who_opted_out_and_counts_it(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(shop()) as bot:
        bot.post(make_event(text="stop", sender=CUSTOMER))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="campaign", sender=ADMIN))
        fake.wait_for(2, "/v2/send/text")
        bot.wait_until(lambda: opted_out_count(bot, "broadcast") == 1, what="the opted-out person skipped")
    assert texts_to(fake, OTHER) == ["Our sale starts today"]
    assert texts_to(fake, CUSTOMER) == ["Done: no more messages from us. Write START to come back."]


def test_a_reply_in_a_group_is_not_a_message_to_the_person(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(shop()) as bot:
        bot.post(make_event(text="stop", sender=CUSTOMER))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="hello", sender=CUSTOMER, chat=GROUP))
        fake.wait_for(2, "/v2/send/text")
    assert texts_to(fake, GROUP) == ["Hello everyone"]


def test_the_opt_out_is_kept_under_both_forms_of_the_person(engine: EngineFactory, fake: FakeWawp) -> None:
    lid = "215966617264284@lid"
    stop = make_event(text="stop", sender=lid, payload={"fromAlt": CUSTOMER})
    with engine(shop()) as bot:
        bot.post(stop)
        fake.wait_for(1, "/v2/send/text")
        forms = bot.call(lambda e: _both(StoreOptOuts(e.storage), lid))
        bot.post(make_event(text=f"ping {CUSTOMER}", sender=ADMIN))
        bot.wait_until(lambda: opted_out_count(bot, "send") == 1, what="the send to be skipped")
    assert forms[0]
    assert fake.calls_to("/v2/send/text")[0].json["chatId"] == lid  # the confirmation went


async def _both(optouts: StoreOptOuts, lid: str) -> tuple[bool, bool]:
    return await optouts.has("default", lid), await optouts.has("default", CUSTOMER)


def test_an_opt_out_survives_a_restart(tmp_path: Path, fake: FakeWawp) -> None:
    rules = tmp_path / "rules"
    (rules / "rules.yaml").write_text(shop(), encoding="utf-8")
    with running_engine(rules, tmp_path / "data", wawp_url=fake.url) as bot:
        bot.post(make_event(text="stop", sender=CUSTOMER))
        fake.wait_for(1, "/v2/send/text")
    with running_engine(rules, tmp_path / "data", wawp_url=fake.url) as bot:
        bot.post(make_event(text=f"ping {CUSTOMER}", sender=ADMIN))
        bot.wait_until(lambda: opted_out_count(bot, "send") == 1, what="the send to be skipped")
    assert len(fake.calls_to("/v2/send/text")) == 1


@pytest.mark.redis
def test_on_redis_stop_blocks_and_start_lifts(
    engine: EngineFactory, fake: FakeWawp, redis_namespace: str
) -> None:
    with engine(shop(), redis_url=REDIS_URL, redis_namespace=redis_namespace) as bot:
        bot.post(make_event(text="stop", sender=CUSTOMER))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text=f"ping {CUSTOMER}", sender=ADMIN))
        bot.wait_until(lambda: opted_out_count(bot, "send") == 1, what="the send to be skipped")
        bot.post(make_event(text="start", sender=CUSTOMER))
        fake.wait_for(2, "/v2/send/text")
        bot.post(make_event(text=f"ping {CUSTOMER}", sender=ADMIN))
        fake.wait_for(3, "/v2/send/text")
    assert texts_to(fake, CUSTOMER)[1:] == ["Welcome back!", "A message for you"]


def test_menu_kinds_to_someone_who_opted_out_are_skipped(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = (
        shop()
        + """
  - name: menu
    if: {equals: menu}
    do:
      - poll: {question: "Which branch?", options: [North, South]}
      - location: {latitude: 51.5, longitude: -0.12, title: "Our shop"}
      - react: "👍"
"""
    )
    with engine(rules) as bot:
        bot.post(make_event(text="stop", sender=CUSTOMER))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="menu", sender=CUSTOMER))
        bot.wait_until(lambda: opted_out_count(bot, "react") == 1, what="the whole menu to be skipped")
        counts = [opted_out_count(bot, kind) for kind in ("poll", "location")]
    assert counts == [1, 1]
    assert [c.path for c in fake.calls] == ["/v2/send/text"]


async def test_every_kind_that_sends_asks_before_writing_to_a_person() -> None:
    """A new kind with sends=True is covered without a line of its own: its `to:` (or the event's
    chat) is who it writes to."""
    storage = MemoryStorage()
    await StoreOptOuts(storage).add("default", CUSTOMER)
    event = view(make_event(text="hi", sender=CUSTOMER))
    ctx = ActionContext(event, "r", "0", Services(storage=storage))
    sending = [kind for kind in ACTIONS.values() if kind.sends]
    assert len(sending) >= 10
    for kind in sending:
        written = kind.expand(yaml.safe_load(kind.example)[kind.name])
        if "to" in written:  # the example writes to a group: to the person instead
            written = {**written, "to": CUSTOMER}
        params = kind.params.model_validate(written)
        if is_person(recipient(params, ctx)):
            with pytest.raises(OptedOut):
                await refusal(kind, params, ctx)
        else:  # `remove` acts on the event's group
            assert kind.needs == "group" or kind.name == "remove", kind.name


def test_an_opt_out_kept_under_the_phone_holds_when_the_person_writes_from_their_lid(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    """STOP came when only the phone form was known; the person's next chat is their @lid (the
    pair now known): the reply is still skipped, and START lifts it."""
    lid = "215966617264284@lid"
    rules = shop() + '  - {name: hi, if: {equals: hi}, do: [{reply: "Hello"}]}\n'
    with engine(rules) as bot:
        bot.post(make_event(text="stop", sender=CUSTOMER))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="hi", sender=lid, payload={"fromAlt": CUSTOMER}))
        bot.wait_until(lambda: opted_out_count(bot, "reply") == 1, what="the reply to the lid to be skipped")
        bot.post(make_event(text="start", sender=lid, payload={"fromAlt": CUSTOMER}))
        fake.wait_for(2, "/v2/send/text")
        out = bot.call(lambda e: _both(StoreOptOuts(e.storage), lid))
    assert [c.json["message"] for c in fake.calls_to("/v2/send/text")][1] == "Welcome back!"
    assert out == (False, False)
