"""Built-in STOP and START: safe without a rule, in any case, accent or script, once only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from botengine.dry_run import Rehearsal
from botengine.inline_tests import run_tests
from botengine.keywords import Keywords, normalized
from botengine.options import keywords
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import ruleset, view

STOP_REPLY = "You will get no more messages from us. Write START to get them again."
START_REPLY = "Welcome back! You will get our messages again. Write STOP to stop them."
CATCH_ALL = """
rules:
  - name: thanks
    if: {chat: contact}
    do: [{reply: "Thanks for writing"}]
"""
OWN_STOP = """
rules:
  - name: my-stop
    if: {equals: [stop, arrêt]}
    do: [{opt_out: sender}, {reply: "C'est noté, plus de messages."}]
"""


def said_to(fake: FakeWawp, chat: str) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.json["chatId"] == chat]


@pytest.mark.parametrize(
    ("written", "word"),
    [
        ("STOP", "stop"),
        ("  Stop! ", "stop"),
        ("stop.", "stop"),
        ("ＳＴＯＰ", "stop"),  # full-width letters
        ("🛑 stop 🛑", "stop"),
        ("ArRêT", "arret"),
        ("توقّف", "توقف"),  # with a shadda
        ("توقــف", "توقف"),  # with tatweel
        ("stop   all", "stop all"),
    ],
)
def test_keywords_are_compared_without_case_accents_marks_or_punctuation(written: str, word: str) -> None:
    assert normalized(written) == word


def test_a_keyword_is_the_whole_message() -> None:
    words = Keywords.of(keywords("STOP, ARRÊT, توقف"), keywords("START"), "", "")
    for text in ("stop the order", "please stop", "stopp", "", "!!!"):
        assert words.word_of(view(make_event(text=text))) is None, text
    assert words.word_of(view(make_event(text="arret"))) == "stop"
    assert words.word_of(view(make_event(text="Start"))) == "start"
    assert keywords("off") == ()


def test_stop_without_a_rule_opts_out_confirms_once_and_start_lifts_it(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    person, subscribed = "447700900001@c.us", "447700900005@c.us"
    with engine(CATCH_ALL) as bot:
        bot.post(make_event(text=" Stop! ", sender=person))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="hello?", sender=person))
        bot.post(make_event(text="START", sender=person))
        fake.wait_for(3, "/v2/send/text")
        bot.post(make_event(text="start", sender=subscribed))  # a subscribed person's "start"
        fake.wait_for(4, "/v2/send/text")
        bot.wait_processed(4)
        skipped = bot.engine.metrics.opted_out.labels("reply")._value.get()
    # the catch-all's replies to STOP and to "hello?" were skipped; after START it answers again
    assert said_to(fake, person) == [STOP_REPLY, START_REPLY, "Thanks for writing"]
    assert said_to(fake, subscribed) == ["Thanks for writing"]
    assert skipped == 2


@pytest.mark.parametrize("written", ["STOP", "stop.", "  ArRêT ", "توقّف", "ＳＴＯＰ"])
def test_odd_and_foreign_stops_work(engine: EngineFactory, fake: FakeWawp, written: str) -> None:
    person = "447700900002@c.us"
    with engine(CATCH_ALL) as bot:
        bot.post(make_event(text=written, sender=person))
        fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="hello", sender=person))
        bot.wait_processed(2)
        bot.wait_until(lambda: bot.engine.metrics.opted_out.labels("reply")._value.get() == 2)
    assert said_to(fake, person) == [STOP_REPLY]


def test_a_rule_that_opts_out_replaces_the_built_in(engine: EngineFactory, fake: FakeWawp) -> None:
    person = "33612345678@c.us"
    with engine(OWN_STOP) as bot:
        bot.post(make_event(text="Arrêt", sender=person))
        bot.post(make_event(text="stop!", sender=person))  # not the rule's word as written: the built-in
        fake.wait_for(2, "/v2/send/text")
        bot.wait_processed(2)
    assert said_to(fake, person) == ["C'est noté, plus de messages.", STOP_REPLY]


def test_stop_in_a_group_or_from_us_is_not_a_keyword(engine: EngineFactory, fake: FakeWawp) -> None:
    group = "120363025912345678@g.us"
    with engine(CATCH_ALL) as bot:
        bot.post(make_event(text="STOP", sender="447700900003@c.us", chat=group))
        bot.post(make_event(text="STOP", sender="447700900004@c.us", from_me=True))
        bot.post(make_event(text="hi", sender="447700900003@c.us"))
        fake.wait_for(1, "/v2/send/text")
        bot.wait_processed(3)
    assert said_to(fake, "447700900003@c.us") == ["Thanks for writing"]


def test_the_built_ins_can_be_turned_off(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(CATCH_ALL, stop_words=(), start_words=()) as bot:
        bot.post(make_event(text="STOP", sender="447700900006@c.us"))
        fake.wait_for(1, "/v2/send/text")
    assert said_to(fake, "447700900006@c.us") == ["Thanks for writing"]


INLINE = """
rules:
  - name: thanks
    if: {chat: contact}
    do: [{reply: "Thanks for writing"}]
tests:
  - name: STOP stops the catch-all too, START brings it back
    steps:
      - event: {text: "Stop!"}
        expect:
          - opt_out: sender
          - reply: "You will get no more messages from us. Write START to get them again."
      - event: {text: "hello"}
        expect: []
      - event: {text: "start"}
        expect:
          - opt_in: sender
          - reply: "Welcome back! You will get our messages again. Write STOP to stop them."
          - reply: "Thanks for writing"
"""


async def test_inline_tests_and_dry_runs_see_the_built_ins_and_the_skips(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, INLINE)
    [outcome] = await run_tests(rules)
    assert outcome.passed, outcome.message
    rehearsal = Rehearsal(rules)
    await rehearsal.event(json.dumps(make_event(text="STOP")).encode())
    hello = await rehearsal.event(json.dumps(make_event(text="hello")).encode())
    [skipped] = hello.outcomes
    assert (skipped.kind, skipped.status) == ("reply", "skipped")
    assert skipped.detail.startswith("opted out: ") and skipped.preview is not None
