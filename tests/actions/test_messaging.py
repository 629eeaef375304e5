"""reply, send, react and remove, end to end: an event posted to the engine, the call at the fake Wawp."""

from __future__ import annotations

import json
from pathlib import Path

from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.conftest import SAMPLES

GROUP = "120363025912345678@g.us"


def test_reply_reaches_wawp_with_the_sessions_credentials(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: greet
        if: {text: '^hi\\b'}
        do:
          - reply: {text: "Hello {{ sender.name }}!", quote: true}
    """
    with engine(rules) as bot:
        event = make_event(text="hi there", name="Alice", sender="447441429009@c.us", session="acme")
        assert bot.post(event).json() == {"status": "accepted"}
        [call] = fake.wait_for(1, "/v2/send/text")
    assert call.method == "POST"
    assert call.json["chatId"] == "447441429009@c.us"
    assert call.json["message"] == "Hello Alice!"
    assert call.json["reply_to"] == event["payload"]["id"]
    assert call.query == {"instance_id": "acme", "access_token": "test-token"}


def test_each_session_uses_its_own_token(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: echo
        do: [{reply: "got it"}]
    """
    env = {"BOTENGINE_WAWP_TOKEN_SHOP_2": "token-two"}
    with engine(rules, env=env) as bot:
        bot.post(make_event(text="a", session="shop_1"))
        bot.post(make_event(text="b", session="shop-2"))
        calls = fake.wait_for(2, "/v2/send/text")
    tokens = {c.query["instance_id"]: c.query["access_token"] for c in calls}
    assert tokens == {"shop_1": "test-token", "shop-2": "token-two"}


def test_send_and_react(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = f"""
    rules:
      - name: alert
        if: {{contains: urgent}}
        do:
          - react: "👀"
          - send: {{to: "{GROUP}", text: "Urgent from {{{{ sender.id }}}}: {{{{ text }}}}"}}
    """
    with engine(rules) as bot:
        event = make_event(text="urgent: call me", sender="15550001111@c.us")
        bot.post(event)
        [sent] = fake.wait_for(1, "/v2/send/text")
        [reaction] = fake.wait_for(1, "/v2/send/reaction")
    assert sent.json == {"chatId": GROUP, "message": "Urgent from 15550001111@c.us: urgent: call me"}
    assert reaction.method == "PUT"
    assert reaction.json == {
        "chatId": "15550001111@c.us",
        "messageId": event["payload"]["id"],
        "reaction": "👀",
    }


def test_remove_an_unlisted_joiner_and_alert_the_admins(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path
) -> None:
    (tmp_path / "rules" / "lists").mkdir(parents=True)
    (tmp_path / "rules" / "lists" / "members.txt").write_text("447441429009@c.us\n")
    rules = """
    rules:
      - name: guard
        on: group.participants.update
        if:
          action: join
          participant: {not_in: members}
        do:
          - remove: {}
          - send: {to: "120363000000000000@g.us", text: "Removed {{ participant }} from {{ group.id }}"}
    """
    sample = json.loads((SAMPLES / "group-participants-join.json").read_text())
    joiner = sample["payload"]["participants"][0]["id"]
    group = sample["payload"]["group"]["id"]
    with engine(rules) as bot:
        bot.post(sample)
        [removal] = fake.wait_for(1, "/v2/groups/")
        [alert] = fake.wait_for(1, "/v2/send/text")
    assert removal.path == f"/v2/groups/{group}/participants/remove"
    assert removal.json == {"participants": [{"id": joiner}]}
    assert alert.json["message"] == f"Removed {joiner} from {group}"


def test_remove_outside_a_group_is_refused_clearly_and_dead_lettered(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = """
    rules:
      - name: kick
        if: {contains: spam}
        do: [{remove: {}}]
    """
    with engine(rules) as bot:
        bot.post(make_event(text="spam spam", sender="15550001111@c.us"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "remove only works in groups" in letter["errors"][-1]["error"]
    assert "contact chat" in letter["errors"][-1]["error"]
    assert fake.calls_to("/v2/groups/") == []


def test_a_text_past_whatsapps_limit_is_rejected_with_a_clear_error(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = """
    rules:
      - name: long
        do: [{reply: "{{ text * 500 }}"}]
    """
    with engine(rules) as bot:
        bot.post(make_event(text="far too long"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "at most 4096" in letter["errors"][-1]["error"]
    assert fake.calls_to("/v2/send/text") == []
