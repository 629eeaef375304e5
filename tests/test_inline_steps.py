"""Inline tests with `steps:`: a conversation (events and time passing) on one scratch store."""

from __future__ import annotations

import re
from pathlib import Path

from botengine.inline_tests import run_tests
from botengine.rules import RuleSet
from botengine.rules.loader import load
from tests.conftest import REPO
from tests.rules_helpers import write_rules

FOLLOW_UP = """
rules:
  - name: agent
    if: {from_me: true}
    do:
      - later: {after: 1h, unless: replied, do: [{reply: "Still need help?"}]}
  - name: menu
    if: {equals: menu}
    do:
      - set: {var: menu, value: main, expires: 10m}
      - reply: "1 orders, 2 support"
  - name: pick
    if: {state: {menu: main}, equals: "1"}
    do: [{reply: "Orders it is"}]
tests:
  - name: a follow-up falls due after an hour, not before
    steps:
      - event: {text: "Your parcel ships today", from_me: true}
        expect: [{later: {after: 1h}}]
      - wait: 59m
        expect: []
      - wait: 1m
        expect: [{reply: "Still need help?"}]
  - name: a reply meanwhile cancels it
    steps:
      - event: {text: "Your parcel ships today", from_me: true}
      - event: {text: "thanks"}
        expect: []
      - wait: 2h
        expect: []
  - name: state carries from one step to the next
    steps:
      - event: {text: "1"}
        expect: []
      - event: {text: menu}
      - event: {text: "1"}
        expect: [{reply: "Orders it is"}]
"""


async def test_steps_keep_state_and_let_time_pass(tmp_path: Path) -> None:
    rules = RuleSet.load([write_rules(tmp_path, FOLLOW_UP)])
    assert [(o.name, o.message) for o in await run_tests(rules) if not o.passed] == []


async def test_the_docs_conversation_test_passes(tmp_path: Path) -> None:
    docs = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", docs, re.S) if "steps:" in b and "rules:" in b]
    assert len(blocks) >= 2  # the form's, and the quiet window's (docs/rules.md)
    for number, block in enumerate(blocks):
        outcomes = await run_tests(RuleSet.load([write_rules(tmp_path / str(number), block)]))
        assert outcomes and all(o.passed for o in outcomes), [o.message for o in outcomes]


async def test_a_failing_step_says_which(tmp_path: Path) -> None:
    text = FOLLOW_UP.replace('expect: [{reply: "Still need help?"}]', 'expect: [{reply: "Hello?"}]')
    rules = RuleSet.load([write_rules(tmp_path, text)])
    [failed] = [o for o in await run_tests(rules) if not o.passed]
    assert failed.message.startswith("step 3: expected [{'reply': {'text': 'Hello?'}}]")
    assert "Still need help?" in failed.message


def test_mistakes_in_steps_are_reported_at_their_line(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        rules:
          - name: r
            do: [{reply: hi}]
        tests:
          - name: both
            steps:
              - event: {text: hi}
                wait: 1m
          - name: expect outside
            expect: []
            steps: [{event: {text: hi}}]
          - name: empty
            steps: []
          - name: bad word
            steps:
              - event: {text: hi}
                expect: [{replly: hi}]
          - name: outside the folder
            steps:
              - event_file: ../../etc/passwd
          - name: bad wait
            steps:
              - wait: soon
        """,
    )
    found = [str(p).replace(str(path), "FILE") for p in load([path]).errors]
    assert any(p.startswith("FILE:8:") and "step 1: a step is one of event:" in p for p in found), found
    assert any(p.startswith("FILE:10:") and "expect: goes inside each step" in p for p in found), found
    assert any(p.startswith("FILE:14:") and "steps: is empty" in p for p in found), found
    assert any(p.startswith("FILE:18:") and "did you mean 'reply'" in p for p in found), found
    assert any(p.startswith("FILE:21:") and "step 1: event_file:" in p for p in found), found
    assert any(p.startswith("FILE:24:") and "wait" in p for p in found), found


LATER_ASK = """
rules:
  - name: survey
    if: {equals: bought}
    do:
      - later:
          after: 1d
          do:
            - ask: "How many stars (1-5)?"
              as: stars
              expect: ["1", "2", "3", "4", "5"]
              else: [{reply: "No worries!"}]
            - if: {expr: "int(state.stars) >= 4"}
              then: [{reply: "Thanks for the {{ state.stars }} stars!"}]
              else: [{reply: "Sorry: what went wrong?"}]
tests:
  - name: a question asked by a follow-up, answered the next day
    steps:
      - event: {text: bought}
      - wait: 1d
        expect: [{ask: "How many stars (1-5)?"}]
      - event: {text: "5"}
        expect: [{reply: "Thanks for the 5 stars!"}]
"""


async def test_a_question_inside_a_follow_up(tmp_path: Path) -> None:
    rules = RuleSet.load([write_rules(tmp_path, LATER_ASK)])
    assert [(o.name, o.message) for o in await run_tests(rules) if not o.passed] == []
