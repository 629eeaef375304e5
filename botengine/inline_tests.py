"""Running the `tests:` written in rules files: an event in, the actions expected out.

    tests:
      - name: greets Alice by name
        event: {text: "hi", name: Alice}          # fields for make_event (botengine.testing)
        expect:
          - reply: "Hello Alice! How can I help?"
      - name: ignores groups
        event_file: events/message-text-group.json   # beside the rules file, inside its folder
        expect: []

Expected parameters are compared with the rendered ones on the keys written, at any depth
(`reply: "…"` compares the text only; `webhook: {json: {text: "…"}}` that one field of the
body). Every test runs on its own in-memory storage, as a dry run.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botengine.dry_run import dry_run_event, scheduled_runs
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


async def planned_actions(
    rules: RuleSet, envelope: dict[str, Any], now: datetime | None, state: dict[str, Any]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(rule, action kind, rendered parameters) for every action the event would run.

    An action that cannot render fails the test with its error (it would fail live too).
    """
    processed = await dry_run_event(rules, json.dumps(envelope).encode(), now=now, state=state)
    planned = []
    for outcome in processed.outcomes:
        if outcome.status == "failed":
            raise BotengineError(f"rule {outcome.rule}, action {outcome.kind}: {outcome.detail}")
        planned.append((outcome.rule, outcome.kind, outcome.params or {}))
    return planned


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
        if test.tick is not None:
            planned = await tick_actions(rules, test)
        else:
            planned = await planned_actions(rules, event_of(test), test.now or now, dict(test.state))
    except BotengineError as exc:
        return TestOutcome(test.name, test.location, False, str(exc))
    got = [(kind, params) for _, kind, params in planned]
    ok = len(got) == len(test.expect) and all(
        kind == want_kind and _same(want, params)
        for (kind, params), (want_kind, want) in zip(got, test.expect, strict=True)
    )
    if ok:
        return TestOutcome(test.name, test.location, True)
    expected = [{k: v} for k, v in test.expect] or "no actions"
    actual = [{f"{kind} (rule {rule})": params} for rule, kind, params in planned] or "no actions"
    return TestOutcome(test.name, test.location, False, f"expected {expected}\n        got {actual}")


async def run_tests(
    rules: RuleSet, tests: Sequence[InlineTest] | None = None, *, now: datetime | None = None
) -> list[TestOutcome]:
    return [await run_test(rules, test, now=now) for test in (rules.tests if tests is None else tests)]


__all__ = ["TestOutcome", "event_of", "planned_actions", "run_test", "run_tests"]
