"""`ask`: a question, its answer (validated, kept in state), its time limit, through the real engine."""

from __future__ import annotations

import time
from pathlib import Path

from botengine.sample_events import DEFAULT_SENDER
from botengine.state import state_key
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine
from tests.actions.conftest import EngineFactory

FORM = """
rules:
  - name: order-form
    if: {equals: order}
    do:
      - ask: "Your order number?"
        as: order
        expect: number
        again: "Just the digits, please."
        tries: 1
        wait: WAIT
        else: [{reply: "No answer; write order to start again."}]
      - ask: "Address for order {{ state.order }}?"
        as: address
        wait: WAIT
      - ask: "Send {{ order }} to {{ state.address }}? yes/no"
        as: confirm
        expect: [yes, no]
        wait: WAIT
        then: [{reply: "You said {{ state.confirm }}"}]
      - if: {state: {confirm: "yes"}}
        then: [{reply: "Done: {{ state.order }} goes to {{ state.address }}."}]
        else: [{reply: "Cancelled."}]
  - name: echo
    if: {expr: "text != 'order'"}
    do: [{reply: "echo {{ text }}"}]
"""


def said(fake: FakeWawp) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.status == 200]


def converse(
    bot, fake: FakeWawp, texts: list[str], sender: str = DEFAULT_SENDER, chat: str | None = None
) -> None:  # type: ignore[no-untyped-def]
    """Post each text once the bot has answered the one before (a person reading, then typing)."""
    for text in texts:
        before = len(fake.calls_to("/v2/send/text"))
        bot.post(make_event(text=text, sender=sender, chat=chat))
        fake.wait_for(before + 1, "/v2/send/text")


def test_a_three_step_form_with_a_wrong_answer(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(FORM.replace("WAIT", "10m")) as bot:
        converse(bot, fake, ["order", "my order", " 10 423 ", "1 High St"])
        bot.post(make_event(text="YES"))
        fake.wait_for(6, "/v2/send/text")
        stored = bot.get(state_key("default", "chat", DEFAULT_SENDER, "address"))
        assert bot.call(lambda e: e.storage.jobs()) == []  # every time limit cancelled
    assert said(fake) == [
        "Your order number?",
        "Just the digits, please.",  # "my order" is no number: asked again, no echo
        "Address for order 10423?",  # spaces taken out of the number
        "Send 10423 to 1 High St? yes/no",
        "You said yes",  # the choice as the rule writes it
        "Done: 10423 goes to 1 High St.",
    ]
    assert stored == "1 High St"


def test_too_many_wrong_answers_give_up_and_the_next_message_is_ordinary(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(FORM.replace("WAIT", "10m")) as bot:
        converse(bot, fake, ["order", "abc", "def", "hello"])
        assert bot.call(lambda e: e.storage.jobs()) == []
        counted = {
            s.labels["outcome"]: s.value
            for s in next(iter(bot.engine.metrics.questions.collect())).samples
            if s.name.endswith("_total")
        }
    assert said(fake) == [
        "Your order number?",
        "Just the digits, please.",
        "No answer; write order to start again.",
        "echo hello",
    ]
    assert counted == {"asked_again": 1, "gave_up": 1}


def test_no_answer_in_time_runs_else_once(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(FORM.replace("WAIT", "1s")) as bot:
        bot.post(make_event(text="order"))
        fake.wait_for(2, "/v2/send/text", timeout=15)
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the time limit to run")
        converse(bot, fake, ["10423"])  # too late: an ordinary message
    assert said(fake) == ["Your order number?", "No answer; write order to start again.", "echo 10423"]


def test_stop_is_never_an_answer(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(FORM.replace("WAIT", "10m")) as bot:
        converse(bot, fake, ["order", "STOP"])
        bot.post(make_event(text="10423"))  # still the answer: STOP did not take the question
        bot.wait_processed(3)
        time.sleep(0.3)
    assert said(fake)[0] == "Your order number?"
    assert "Address for order 10423?" not in said(fake)  # opted out: nothing more is sent
    assert "echo STOP" not in said(fake)


def test_in_a_group_only_the_person_asked_answers(engine: EngineFactory, fake: FakeWawp) -> None:
    group, alice, bob = "120363000000000042@g.us", "15550000001@c.us", "15550000002@c.us"
    with engine(FORM.replace("WAIT", "10m")) as bot:
        converse(bot, fake, ["order"], sender=alice, chat=group)
        converse(bot, fake, ["12"], sender=bob, chat=group)  # not asked: an ordinary message
        converse(bot, fake, ["34"], sender=alice, chat=group)
    assert said(fake) == ["Your order number?", "echo 12", "Address for order 34?"]


def test_a_redelivered_answer_is_not_taken_for_the_next_question(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(FORM.replace("WAIT", "10m")) as bot:
        converse(bot, fake, ["order"])
        answer = make_event(text="10423")
        bot.post(answer)
        fake.wait_for(2, "/v2/send/text")
        bot.replay(answer)  # processed again, as after a crash before its ack
        bot.wait_processed(3)
        converse(bot, fake, ["1 High St"])
    assert said(fake) == ["Your order number?", "Address for order 10423?", "Send 10423 to 1 High St? yes/no"]


def test_a_waiting_question_survives_a_restart(tmp_path: Path, fake: FakeWawp) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "r.yaml").write_text(FORM.replace("WAIT", "3s"))
    with running_engine(rules_dir, tmp_path / "data", wawp_url=fake.url) as bot:
        converse(bot, fake, ["order", "10423"])
    with running_engine(rules_dir, tmp_path / "data", wawp_url=fake.url) as bot:
        converse(bot, fake, ["1 High St"])  # the second question still waits: this is its answer
        # the third question's time limit runs in this process; the first two were cancelled
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the time limit to run")
    assert said(fake) == [
        "Your order number?",
        "Address for order 10423?",
        "Send 10423 to 1 High St? yes/no",
    ]  # the third question's else: is empty: nothing more is said, and nothing twice


def test_answers_are_data_never_templates(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(FORM.replace("WAIT", "10m")) as bot:
        converse(bot, fake, ["order", "10423", "{{ 7*7 }} {% if 1 %}x{% endif %}"])
    assert said(fake)[-1] == "Send 10423 to {{ 7*7 }} {% if 1 %}x{% endif %}? yes/no"


def test_a_dry_run_engine_waits_for_no_answer(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(FORM.replace("WAIT", "10m"), dry_run=True) as bot:
        bot.post(make_event(text="order"))
        bot.post(make_event(text="10423"))
        bot.wait_processed(2)
        waiting = bot.call(lambda e: e.storage.scan("ask:"))
        jobs = bot.call(lambda e: e.storage.jobs())
    assert fake.calls_to("/v2/send/text") == []
    assert waiting == [] and jobs == []  # nothing stored: the "10423" went through the rules


HANDED = """
rules:
  - name: form
    if: {equals: order}
    do:
      - ask: "Your order number?"
        as: order
        wait: WAIT
        else: [{reply: "No answer."}]
      - reply: "Thanks for {{ state.order }}"
  - name: person
    on: message.any
    if: {from_me: true, equals: "#human"}          # the shop's own phone takes the chat
    do: [{handover: {for: 1h}}]
"""


def test_a_chat_handed_to_a_person_takes_no_answer_and_hears_no_time_limit(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(HANDED.replace("WAIT", "3s")) as bot:
        converse(bot, fake, ["order"])
        bot.post(make_event("message.any", text="#human", from_me=True))  # handed over well within 3s
        bot.post(make_event(text="10423"))  # the person's business now
        bot.wait_processed(3)
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the time limit to run")
        time.sleep(0.3)
    assert said(fake) == ["Your order number?"]


def test_mistakes_in_a_question_are_reported_at_their_line(tmp_path: Path) -> None:
    from botengine.rules.loader import load
    from tests.rules_helpers import write_rules

    path = write_rules(
        tmp_path,
        """
        rules:
          - name: q
            do:
              - ask: "Your order?"
                wiat: 5m
              - ask: "Your order?"
                expect: []
              - ask: "Your order?"
                expect: {}
              - ask: "Your order?"
                wait: 0s
              - ask: "Your order?"
                expect: {txt: '^\\\\d+$'}
              - ask: "Your order?"
                then: [{reply: "{{ ordr }}"}]
                as: order
        """,
    )
    found = [str(p).replace(str(path), "FILE") for p in load([path]).errors]
    assert any(p.startswith("FILE:6:") and "unknown key 'wiat'" in p and "'wait'" in p for p in found), found
    assert any(p.startswith("FILE:8:") and "at least one choice" in p for p in found), found
    assert any(p.startswith("FILE:10:") and "at least one trigger" in p for p in found), found
    assert any(p.startswith("FILE:12:") and "more than 0" in p for p in found), found
    assert any(p.startswith("FILE:14:") and "unknown trigger 'txt'" in p for p in found), found
    assert any(p.startswith("FILE:16:") and "variable 'ordr' (did you mean" in p for p in found), found


def test_a_question_after_a_retried_action_is_asked_by_the_retry(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = """
    rules:
      - name: form
        if: {equals: order}
        do:
          - reply: "Hello!"
          - ask: "Your order number?"
            as: order
          - reply: "Thanks for {{ state.order }}"
    """
    fake.fail("500", times=1)  # the greeting fails once: the question goes out with its retry
    with engine(rules) as bot:
        bot.post(make_event(text="order"))
        fake.wait_for(3, "/v2/send/text")
        converse(bot, fake, ["10423"])
    assert said(fake) == ["Hello!", "Your order number?", "Thanks for 10423"]


REPLACED = """
rules:
  - name: a
    if: {equals: order}
    do:
      - ask: "Question A?"
        wait: 1s
        else: [{reply: "gave up A"}]
  - name: b
    on: message.reaction
    do:
      - ask: "Question B?"
        wait: 10m
"""


def test_a_replaced_question_says_nothing_when_its_time_limit_falls_due(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(REPLACED) as bot:
        bot.post(make_event(text="order"))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event("message.reaction", emoji="👍"))
        fake.wait_for(2, "/v2/send/text")
        bot.wait_until(lambda: len(bot.call(lambda e: e.storage.jobs())) == 1, what="one time limit")
        time.sleep(1.5)  # A's time limit (1s) would have fallen due by now, had it been kept
        bot.post(make_event(text="my answer to B"))
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="B answered")
    assert said(fake) == ["Question A?", "Question B?"]


FORM_IN_TWO_FORMS = """
rules:
  - name: form
    if: {equals: order}
    do:
      - ask: "Your order number?"
        as: order
        wait: 10m
      - reply: "Thanks for {{ state.order }}"
  - name: echo
    if: {expr: "text != 'order'"}
    do: [{reply: "echo {{ text }}"}]
"""


def test_the_answer_from_the_lid_form_of_the_chat_answers_the_question(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    lid, phone = "215966617264284@lid", "447700900001@c.us"
    with engine(FORM_IN_TWO_FORMS) as bot:
        bot.post(make_event(text="order", sender=phone, payload={"fromAlt": lid}))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="10423", sender=lid, payload={"fromAlt": phone}))
        fake.wait_for(2, "/v2/send/text")
    assert said(fake) == ["Your order number?", "Thanks for 10423"]


ASKED_WHEN_STOPPING = """
rules:
  - name: leaving
    if: {equals: bye}
    do:
      - opt_out: sender
      - ask: "Sorry to see you go. Why are you leaving?"
        as: why
        wait: 10m
      - reply: "Thanks for telling us."
"""


def test_an_answer_after_opt_out_gets_no_reply_the_question_was_the_confirmation(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(ASKED_WHEN_STOPPING) as bot:
        bot.post(make_event(text="bye"))
        fake.wait_for(1, "/v2/send/text")  # the question confirms the opt-out: it goes
        bot.post(make_event(text="too many messages"))
        bot.wait_until(lambda: not bot.call(lambda e: e.storage.jobs()), what="the question settled")
        bot.wait_processed(2)
    assert said(fake) == ["Sorry to see you go. Why are you leaving?"]
