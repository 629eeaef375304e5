"""Which rules run while a chat is with a person, what a dry run says, and what costs nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from botengine.dry_run import dry_run_event
from botengine.handover import Handovers
from botengine.sample_events import DEFAULT_SENDER
from botengine.storage.disk import DiskStorage
from botengine.testing import make_event
from tests.rules_helpers import evaluate, ruleset, view

RULES = """
rules:
  - name: person please
    if: {equals: "2"}
    do:
      - handover:
          for: 2h
          why: "asked for a person"
          notify: {to: "120363000000000001@g.us", text: "{{ sender.number }} wants a person"}
      - reply: "A person will answer you here soon."
  - name: we will get back to you
    if: {handover: true}
    do: [{reply: "A person has your message."}]
  - name: stop
    if: {equals: STOP, handover: any}
    do: [{opt_out: sender}]
  - name: hello
    if: {contains: hello}
    do: [{reply: "Hi!"}]
  - name: to the crm
    if: {contains: hello}
    do: [{webhook: {url: "https://crm.example.com/messages", json: {text: "{{ text }}"}}}]
  - name: own notes
    on: message.any
    if: {from_me: true, starts_with: "note"}
    do: [{log: "{{ text }}"}]
"""
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


async def test_while_a_chat_is_with_a_person_only_the_rules_that_say_so_run(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, RULES)
    storage = DiskStorage(tmp_path / "data")
    try:
        await Handovers(storage).start(
            "default", DEFAULT_SENDER, 3600, why="asked for a person", now=NOW.timestamp()
        )
        fired = {}
        for text in ["hello", "STOP", "2"]:
            evaluation = await evaluate(rules, view(make_event(text=text)), storage, NOW, explain=True)
            fired[text] = [run.rule for run in evaluation.matches]
        own = await evaluate(
            rules, view(make_event("message.any", text="note: called back", from_me=True)), storage, NOW
        )
        other = await evaluate(rules, view(make_event(text="hello", sender="15550001111@c.us")), storage, NOW)
        [why] = [e.reason for e in evaluation.trace if e.rule == "person please"]
    finally:
        await storage.close()
    assert fired == {
        "hello": ["we will get back to you", "to the crm"],  # recording goes on: it says nothing
        "STOP": ["we will get back to you", "stop"],
        "2": ["we will get back to you"],
    }
    assert why == (
        "the chat is with a person since 2026-11-30 10:00 UTC (asked for a person), "
        "until 2026-11-30 11:00 UTC (add handover: any to run the rule anyway)"
    )
    assert [run.rule for run in own.matches] == ["own notes"]  # own messages are not answers
    assert [run.rule for run in other.matches] == ["hello", "to the crm"]  # another chat: as ever


async def test_a_dry_run_says_who_is_handed_over_for_how_long_and_whom_it_tells(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, RULES)
    processed = await dry_run_event(rules, json.dumps(make_event(text="2")).encode(), now=NOW)
    previews = [(o.kind, o.preview) for o in processed.outcomes]
    assert previews == [
        (
            "handover",
            {
                "chat": DEFAULT_SENDER,
                "for": "2h",
                "why": "asked for a person",
                "notify": {
                    "to": "120363000000000001@g.us",
                    "text": "12025550100 wants a person",
                    "when": "only if the chat is not with a person already",
                },
            },
        ),
        ("reply", {"to": DEFAULT_SENDER, "text": "A person will answer you here soon.", "quote": False}),
    ]


async def test_a_set_without_handovers_gets_no_check_and_reads_nothing(tmp_path: Path) -> None:
    plain = ruleset(tmp_path, "rules:\n  - name: hello\n    if: {contains: hello}\n    do: [{reply: Hi}]\n")
    assert [c.trigger for c in plain.rules[0].checks] == ["from_me", "contains"]
    handing = ruleset(tmp_path / "b", RULES)
    assert [c.trigger for c in handing.rule("hello").checks] == ["from_me", "contains", "handover"]  # type: ignore[union-attr]
    assert [c.trigger for c in handing.rule("own notes").checks] == ["from_me", "starts_with"]  # type: ignore[union-attr]
    assert [c.trigger for c in handing.rule("to the crm").checks] == ["from_me", "contains"]  # type: ignore[union-attr]
