"""Quiet windows where nothing is written: dry runs, inline tests, `check`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from botengine.dry_run import dry_run_event
from botengine.inline_tests import run_tests
from botengine.rules.loader import load
from botengine.testing import make_event
from tests.rules_helpers import ruleset, write_rules

Captured = pytest.CaptureFixture[str]

RULES = """
rules:
  - name: order
    debounce: 5s
    if: {contains: pizza}
    do: [{reply: "You wrote: {{ text }} ({{ message_ids | length }})"}]
  - name: hello
    if: {contains: hi}
    do: [{reply: "hello"}]
tests:
  - name: a burst of one is answered as the whole burst
    event: {text: "hi, a pizza"}
    expect: [{reply: "You wrote: hi, a pizza (1)"}, {reply: "hello"}]
"""


async def test_a_dry_run_answers_at_once_and_says_what_would_wait(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, RULES)
    processed = await dry_run_event(rules, json.dumps(make_event(text="hi, a pizza")).encode())
    assert [o.preview["text"] for o in processed.outcomes if o.preview] == [
        "You wrote: hi, a pizza (1)",
        "hello",
    ]
    [held] = [e for e in processed.evaluation.trace if e.outcome == "held"]
    assert held.rule == "order" and "quiet for 5s (at most 20s)" in str(held.reason)


async def test_inline_tests_see_a_debounced_rule_answer(tmp_path: Path) -> None:
    [outcome] = await run_tests(ruleset(tmp_path, RULES))
    assert outcome.passed, outcome.message


def test_the_dry_run_command_prints_what_would_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from botengine.cli import main

    write_rules(tmp_path / "rules", RULES)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(make_event(text="a pizza")))
    assert main(["dry-run", str(tmp_path / "rules"), str(event)]) == 0
    out = capsys.readouterr().out
    assert "rule order: would be held until this chat is quiet for 5s (at most 20s)" in out


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("5 seconds", "'5 seconds' is not a duration"),
        ("{wait: 5s, max: 2s}", "max (2s) is shorter than wait (5s)"),
        ("2h", "a quiet window is at most 1h"),
        ("{wiat: 5s}", "unknown key 'wiat'"),
    ],
)
def test_check_explains_a_wrong_window_at_its_line(tmp_path: Path, value: str, problem: str) -> None:
    write_rules(tmp_path, f"rules:\n  - name: r\n    debounce: {value}\n    do: [{{reply: hi}}]\n")
    errors = [str(error) for error in load([tmp_path]).errors]
    assert any(problem in error and "rules.yaml:3:" in error for error in errors), errors
    assert not any("Value error" in error or "expected one of: cooldown" in error for error in errors)


def test_check_warns_that_only_messages_wait(tmp_path: Path) -> None:
    write_rules(
        tmp_path, "rules:\n  - name: r\n    on: message.reaction\n    debounce: 5s\n    do: [{reply: hi}]\n"
    )
    loaded = load([tmp_path])
    assert not loaded.errors
    [warning] = [str(w) for w in loaded.warnings if "debounce" in str(w)]
    assert "only incoming messages wait for a quiet window" in warning and "rules.yaml:4:" in warning


STEPS = """
rules:
  - name: order
    debounce: {wait: 5s, max: 12s}
    do:
      - reply: "{{ messages | length }}: {{ text | replace('\\\\n', ', ') }}"
tests:
  - name: three quick messages get one answer
    steps:
      - event: {text: "hi"}
        expect: []
      - event: {text: "I want to order"}
        expect: []
      - wait: 2s
        expect: []
      - event: {text: "a large pizza"}
        expect: []
      - wait: 5s
        expect: [{reply: "3: hi, I want to order, a large pizza"}]
      - event: {text: "and a cola"}
        expect: []
      - wait: 5s
        expect: [{reply: "1: and a cola"}]
  - name: someone who keeps writing is answered at the maximum wait
    steps:
      - event: {text: "one"}
      - wait: 4s
      - event: {text: "two"}
      - wait: 4s
      - event: {text: "three"}
      - wait: 4s
        expect: [{reply: "3: one, two, three"}]
"""


async def test_inline_steps_hold_a_burst_until_time_passes(tmp_path: Path) -> None:
    outcomes = await run_tests(ruleset(tmp_path, STEPS))
    assert [(o.name, o.passed, o.message) for o in outcomes] == [
        ("three quick messages get one answer", True, ""),
        ("someone who keeps writing is answered at the maximum wait", True, ""),
    ]


async def test_an_inline_step_that_expects_the_answer_too_early_fails(tmp_path: Path) -> None:
    early = STEPS.replace(
        "      - wait: 2s\n        expect: []", "      - wait: 2s\n        expect: [{reply: x}]"
    )
    [first, _] = await run_tests(ruleset(tmp_path, early))
    assert not first.passed and "step 3" in first.message


async def test_a_burst_answered_in_steps_sees_the_test_clock(tmp_path: Path) -> None:
    rules = """
    rules:
      - name: order
        debounce: 5s
        do: [{reply: "{{ now[:19] }}"}]
    tests:
      - name: the answer comes 5 seconds after the message, on the test's clock
        now: "2026-12-05T12:00:00Z"
        steps:
          - event: {text: "hi"}
            expect: []
          - wait: 5s
            expect: [{reply: "2026-12-05T12:00:05"}]
    """
    [outcome] = await run_tests(ruleset(tmp_path, rules))
    assert outcome.passed, outcome.message


async def test_a_burst_is_not_answered_once_a_person_took_the_chat(tmp_path: Path) -> None:
    rules = """
    rules:
      - name: I answer myself
        on: message.any
        if: {human_reply: true}
        do: [{handover: {for: 12h}}]
      - name: order
        debounce: 5s
        do: [{reply: "{{ text }}"}]
    tests:
      - name: the customer writes, I answer on the phone before the window ends
        steps:
          - event: {text: "where is my parcel?"}
            expect: []
          - event: {type: message.any, text: "Sam here, checking", from_me: true}
            expect: [{handover: {for: 12h}}]
          - wait: 5s
            expect: []
    """
    [outcome] = await run_tests(ruleset(tmp_path, rules))
    assert outcome.passed, outcome.message
