"""set / clear with the state trigger (a menu bot), count into storage and metrics, log lines."""

from __future__ import annotations

import logging

import httpx
import pytest

from botengine.actions.conversation import counter_key
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory

MENU = """
rules:
  - name: menu
    if: {equals: menu}
    do:
      - reply: "Reply 1 for orders, 2 for support"
      - set: {var: menu, value: main, expires: 30m}
  - name: orders
    if: {equals: "1", state: {menu: main}}
    do:
      - reply: "Send your order number"
      - set: {var: menu, value: orders}
  - name: support
    if: {equals: "2", state: {menu: main}}
    do:
      - reply: "An agent will write to you"
      - clear: menu
  - name: order-number
    if: {text: '^(?P<number>\\d{4,})$', state: {menu: orders}}
    do:
      - reply: "Looking up order {{ number }}"
      - clear: menu
"""


def test_a_menu_flow_follows_the_chat_state(engine: EngineFactory, fake: FakeWawp) -> None:
    alice, bob = "15550001111@c.us", "15550002222@c.us"
    with engine(MENU) as bot:
        for n, (who, text) in enumerate(
            [(alice, "1"), (alice, "menu"), (bob, "1"), (alice, "1"), (alice, "12345"), (alice, "12345")], 1
        ):
            bot.post(make_event(text=text, sender=who))
            bot.wait_processed(n)
    said = [(c.json["chatId"], c.json["message"]) for c in fake.calls_to("/v2/send/text")]
    assert said == [
        (alice, "Reply 1 for orders, 2 for support"),
        (alice, "Send your order number"),  # bob's "1" matched nothing: his chat has no menu
        (alice, "Looking up order 12345"),  # the second 12345 matched nothing: state cleared
    ]


def test_count_keeps_totals_in_storage_and_metrics(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: reactions
        on: message.reaction
        if: {removed: false}
        do: [{count: {name: reactions, by: "{{ emoji }}"}}]
    """
    with engine(rules, admin_token="t") as bot:
        for emoji in ["❤️", "🔥", "❤️"]:
            bot.post(make_event("message.reaction", emoji=emoji))
        bot.wait_processed(3)
        hearts = bot.get(counter_key("reactions", "❤️"))
        fires = bot.get(counter_key("reactions", "🔥"))
        metrics = httpx.get(bot.url + "/metrics", headers={"Authorization": "Bearer t"}).text
    assert (hearts, fires) == (2, 1)
    assert 'botengine_rule_counter_total{by="❤️",name="reactions"} 2.0' in metrics
    assert 'botengine_actions_total{kind="count",status="done"} 3.0' in metrics


def test_log_writes_a_line_with_the_event(
    engine: EngineFactory, fake: FakeWawp, caplog: pytest.LogCaptureFixture
) -> None:
    rules = """
    rules:
      - name: audit
        do: [{log: "VIP {{ sender.id }} wrote {{ text }}"}]
    """
    with caplog.at_level(logging.INFO, logger="botengine.rules"), engine(rules) as bot:
        event = make_event(text="hello", sender="15550001111@c.us")
        bot.post(event)
        bot.wait_processed(1)
    [record] = [r for r in caplog.records if r.name == "botengine.rules"]
    assert record.getMessage() == "VIP 15550001111@c.us wrote hello"
    assert record.fields["event_id"] == event["id"]  # type: ignore[attr-defined]
