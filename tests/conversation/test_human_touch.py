"""`typing:` and `delay:` on reply and send: Wawp sees start typing, stop typing, then the message;
a person who opted out sees none of it; a dry run says it; mistakes are explained at their line."""

from __future__ import annotations

import json
from pathlib import Path

from botengine.dry_run import dry_run_event
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import ruleset
from tests.test_rules_check import problems

PERSON = "447700900001@c.us"
TEAM = "120363025912345678@g.us"
RULES = f"""
rules:
  - name: answer
    if: {{equals: price}}
    do:
      - reply: {{text: "Let me check that for you.", typing: 1s, delay: 100ms-300ms}}
      - send: {{to: "{TEAM}", text: "{{{{ sender.number }}}} asked for prices", typing: 200ms}}
"""
TYPING_PATHS = ("/v2/send/start-typing", "/v2/send/stop-typing", "/v2/send/text")


def test_typing_calls_reach_wawp_in_order_before_each_message(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(RULES) as bot:
        bot.post(make_event(text="price", sender=PERSON))
        fake.wait_for(2, "/v2/send/text")
    calls = [(c.path, c.json["chatId"]) for c in fake.calls if c.path in TYPING_PATHS]
    assert calls == [
        ("/v2/send/start-typing", PERSON),
        ("/v2/send/stop-typing", PERSON),
        ("/v2/send/text", PERSON),
        ("/v2/send/start-typing", TEAM),
        ("/v2/send/stop-typing", TEAM),
        ("/v2/send/text", TEAM),
    ]
    assert all(c.status == 200 for c in fake.calls)


def test_no_typing_for_someone_who_opted_out(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(RULES) as bot:
        bot.post(make_event(text="stop", sender=PERSON))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="price", sender=PERSON))
        fake.wait_for(2, "/v2/send/text")  # the team still hears of it: a group is not the person
    assert [c.json["chatId"] for c in fake.calls_to("/v2/send/start-typing")] == [TEAM]


async def test_a_dry_run_says_the_pause_and_the_typing(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, RULES)
    processed = await dry_run_event(rules, json.dumps(make_event(text="price", sender=PERSON)).encode())
    reply, send = (o.preview for o in processed.outcomes)
    assert reply is not None and send is not None
    assert reply["delay"] == "waits a random 100ms-300ms first"
    assert reply["typing"] == 'shows "typing…" for 1s, then sends'
    assert "delay" not in send and send["typing"] == 'shows "typing…" for 200ms, then sends'


def test_mistakes_are_explained_at_their_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        rules:
          - name: slow
            if: {equals: price}
            do:
              - reply: {text: "hi", typing: 2m}
              - reply: {text: "hi", delay: 5s-1s}
              - send: {to: "1@c.us", text: "hi", delay: soon}
        """,
    )
    assert [p.split(":")[1] for p in found] == ["5", "6", "7"]
    assert "at most 30s" in found[0]
    assert "the first time must be the shorter" in found[1]
    assert "'soon' is not a pause like 2s, or a range like 1s-3s" in found[2]
