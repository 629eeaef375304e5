"""Running the `tests:` written in rules files: an event in, the actions expected out.

    tests:
      - name: greets Alice by name
        event: {text: "hi", name: Alice}          # fields for make_event (botengine.testing)
        expect:
          - reply: "Hello Alice! How can I help?"
      - name: ignores groups
        event_file: events/message-text-group.json   # beside the rules file, inside its folder
        expect: []

A test can also be a conversation: `steps:`, each an event (or `wait: 10m`, time passing) with
the actions expected of that step:

      - name: the order form
        steps:
          - event: {text: order}
            expect: [{ask: "Your order number?"}]
          - wait: 10m                             # follow-ups and question time limits fall due
            expect: [{reply: "No answer: write order to start again."}]

Expected parameters are compared with the rendered ones on the keys written, at any depth
(`reply: "…"` compares the text only; `webhook: {json: {text: "…"}}` that one field of the
body). A branch's decision (`choose`, `if`) is not listed: the actions of the branch are. Every
test runs on its own in-memory storage, as a dry run (dry_run.Rehearsal): what the rules write to
botengine's own store (state, questions, follow-ups) is kept from one step to the next, what
would leave (messages, webhooks) is only rendered.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botengine.actions import ACTIONS
from botengine.actions.plan import ActionOutcome
from botengine.dry_run import Rehearsal, dry_run_event, scheduled_runs
from botengine.durations import parse_duration
from botengine.errors import BotengineError
from botengine.rules.engine import RuleSet
from botengine.rules.loader import InlineTest
from botengine.sample_events import load_event, make_event

_EVENT_FIELDS = {
    "type": "event",
    "text": "text",
    "sender": "sender",
    "chat": "chat",
    "session": "session",
    "name": "name",
    "from_me": "from_me",
    "emoji": "emoji",
    "ack": "ack",
    "group_action": "group_action",
    "participants": "participants",
    "payload": "payload",
    "id": "event_id",
    "timestamp_ms": "timestamp_ms",
}


@dataclass(frozen=True)
class TestOutcome:
    name: str
    location: str
    passed: bool
    message: str = ""


def event_of(test: InlineTest) -> dict[str, Any]:
    if test.event_file is not None:
        return load_event(test.event_file)
    fields = dict(test.event or {})
    unknown = set(fields) - set(_EVENT_FIELDS)
    if unknown:
        raise BotengineError(
            f"unknown event field(s) {', '.join(sorted(unknown))}; known: {', '.join(_EVENT_FIELDS)}"
        )
    return make_event(**{_EVENT_FIELDS[k]: v for k, v in fields.items()})


Planned = list[tuple[str, str, dict[str, Any]]]


async def planned_actions(
    rules: RuleSet, envelope: dict[str, Any], now: datetime | None, state: dict[str, Any]
) -> Planned:
    """(rule, action kind, rendered parameters) for every action the event would run.

    An action that cannot render fails the test with its error (it would fail live too).
    """
    processed = await dry_run_event(rules, json.dumps(envelope).encode(), now=now, state=state)
    return _planned(processed.outcomes)


def _planned(outcomes: list[ActionOutcome]) -> Planned:
    """What the outcomes did, as a test compares it: a branch's decision is not an action of its own."""
    planned = []
    for outcome in outcomes:
        if outcome.status == "failed":
            raise BotengineError(f"rule {outcome.rule}, action {outcome.kind}: {outcome.detail}")
        if outcome.status == "skipped":  # a message to someone who opted out: it would not go
            continue
        kind = ACTIONS.get(outcome.kind)
        if kind is None or not kind.reads_only:
            planned.append((outcome.rule, outcome.kind, outcome.params or {}))
    return planned


async def steps_run(rules: RuleSet, test: InlineTest, now: datetime | None) -> str | None:
    """A test with `steps:`, on one scratch store: None when every step did what it expects."""
    rehearsal = Rehearsal(rules, test.now or now, hold=True)  # a burst of messages is a conversation
    for number, step in enumerate(test.steps, 1):
        if step.wait is not None:
            outcomes = await rehearsal.wait(step.wait)
        else:
            fields = InlineTest(test.name, step.location, step.event, step.event_file, None, {}, ())
            body = json.dumps(event_of(fields)).encode()
            outcomes = (await rehearsal.event(body, test.state if number == 1 else None)).outcomes
        try:
            planned = _planned(outcomes)
        except BotengineError as exc:
            return f"step {number}: {exc}"
        if step.expect is not None and (wrong := _differs(step.expect, planned)):
            return f"step {number}: {wrong}"
    return None


def _differs(expect: tuple[tuple[str, Any], ...], planned: Planned) -> str | None:
    got = [(kind, params) for _, kind, params in planned]
    ok = len(got) == len(expect) and all(
        kind == want_kind and _same(want, params)
        for (kind, params), (want_kind, want) in zip(got, expect, strict=True)
    )
    if ok:
        return None
    expected = [{k: v} for k, v in expect] or "no actions"
    actual = [{f"{kind} (rule {rule})": params} for rule, kind, params in planned] or "no actions"
    return f"expected {expected}\n        got {actual}"


def _same(expected: Any, actual: Any) -> bool:
    """`actual` holds what `expected` says: mappings on the keys written (at any depth), the rest equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _same(value, actual[key]) for key, value in expected.items()
        )
    if isinstance(expected, str) and isinstance(actual, int | float) and not isinstance(actual, bool):
        with contextlib.suppress(ValueError):  # `after: 1h` written, 3600.0 rendered
            return parse_duration(expected) == actual
    return bool(expected == actual)


async def tick_actions(rules: RuleSet, test: InlineTest) -> list[tuple[str, str, dict[str, Any]]]:
    """What the run of scheduled rule `test.tick` at `test.now` would do; [] when it is no run time."""
    assert test.tick is not None
    assert test.now is not None
    rule = rules.rule(test.tick)
    if rule is None or rule.timetable is None:
        raise BotengineError(f"tick: no scheduled rule named {test.tick!r}")
    now = test.now if test.now.tzinfo else test.now.replace(tzinfo=UTC)
    runs = scheduled_runs(rules, now, now + timedelta(seconds=1), rule=test.tick)
    if not runs:
        return []  # the rule does not run then
    return await planned_actions(rules, json.loads(runs[0].body()), now, dict(test.state))


async def run_test(rules: RuleSet, test: InlineTest, *, now: datetime | None = None) -> TestOutcome:
    """One test; `now` is the clock for a test that gives no `now:` of its own (default: the real one)."""
    try:
        if test.steps:
            wrong = await steps_run(rules, test, now)
        elif test.tick is not None:
            wrong = _differs(test.expect, await tick_actions(rules, test))
        else:
            planned = await planned_actions(rules, event_of(test), test.now or now, dict(test.state))
            wrong = _differs(test.expect, planned)
    except BotengineError as exc:
        return TestOutcome(test.name, test.location, False, str(exc))
    return TestOutcome(test.name, test.location, wrong is None, wrong or "")


async def run_tests(
    rules: RuleSet, tests: Sequence[InlineTest] | None = None, *, now: datetime | None = None
) -> list[TestOutcome]:
    return [await run_test(rules, test, now=now) for test in (rules.tests if tests is None else tests)]


__all__ = ["TestOutcome", "event_of", "planned_actions", "run_test", "run_tests"]
