"""Checking the `tests:` of a rules file beyond their shape: expected actions, event files, steps.

    tests:
      - name: the order form
        steps:                                   # a conversation: events and time passing
          - event: {text: order}
            expect: [{ask: "Your order number?"}]
          - event: {text: "10423"}
            expect: [{ask: "Where should it go?"}]
          - wait: 10m                            # nobody answers: the question's else: runs
            expect: [{reply: "No answer: write order to start again."}]

Each problem goes to the file through a `Where` with its line; nothing here raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botengine import confined
from botengine.actions import ACTIONS
from botengine.errors import FileRefusedError
from botengine.rules.model import StepModel
from botengine.rules.problems import did_you_mean
from botengine.rules.where import Where

Expected = tuple[tuple[str, Any], ...]
"""(action kind, params as written, shorthand expanded) of each action a test expects."""


@dataclass(frozen=True)
class Step:
    """One step of a test with `steps:`: an event (fields or a file) or `wait` seconds passing."""

    location: str
    event: dict[str, Any] | None = None
    event_file: Path | None = None
    wait: float | None = None
    expect: Expected | None = None  # None: not checked


def expected(where: Where, items: list[Any]) -> Expected | None:
    """The actions listed under `expect:` (at `where`), or None after reporting a mistake."""
    found: list[tuple[str, Any]] = []
    for position, item in enumerate(items):
        kinds = list(item) if isinstance(item, dict) else []
        if len(kinds) != 1 or kinds[0] not in ACTIONS:
            word = str(kinds[0]) if len(kinds) == 1 else ""
            where.report(
                "an expected action is one action word with its parameters",
                did_you_mean(word, ACTIONS) if word else 'e.g. - reply: "Hello Alice!"',
                at=("expect", position),
            )
            return None
        found.append((kinds[0], ACTIONS[kinds[0]].expand(item[kinds[0]])))
    return tuple(found)


def event_path(where: Where, folder: Path, written: str) -> Path | None:
    """An `event_file:` inside the rules folder, or None after reporting why not."""
    try:
        return confined.find(folder, written).path
    except FileRefusedError as exc:
        where.report(
            f"event_file: {exc}",
            "the path is relative to this rules file, and stays inside its folder",
            at=("event_file",),
        )
        return None


def steps_of(where: Where, steps: list[StepModel], folder: Path) -> tuple[Step, ...] | None:
    """The steps of a test (written at `where`, the test), or None after reporting a mistake."""
    found = []
    for number, step in enumerate(steps):
        at = where.child("steps", number).prefixed(f"step {number + 1}: ")
        given = [x for x in (step.event, step.event_file, step.wait) if x is not None]
        if len(given) != 1:
            at.report("a step is one of event:, event_file: or wait:", 'e.g. - event: {text: "order"}')
            return None
        event_file = event_path(at, folder, step.event_file) if step.event_file is not None else None
        if step.event_file is not None and event_file is None:
            return None
        expect = expected(at, step.expect) if step.expect is not None else None
        if step.expect is not None and expect is None:
            return None
        found.append(Step(at.location, step.event, event_file, step.wait, expect))
    if not found:
        where.report("steps: is empty", "give at least one event", at=("steps",))
        return None
    return tuple(found)
