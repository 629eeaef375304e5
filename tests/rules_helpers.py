"""Helpers shared by the rules tests: a rule set from YAML text, an event through the real parser."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

from botengine.events import EventView, parse_envelope, view_of
from botengine.rules import Evaluation, RuleSet
from botengine.storage import Storage
from botengine.storage.memory import MemoryStorage
from tests.conftest import SAMPLES


def write_rules(directory: Path, text: str, name: str = "rules.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def ruleset(directory: Path, text: str) -> RuleSet:
    write_rules(directory, text)
    return RuleSet.load([directory])


def view(envelope: dict[str, Any]) -> EventView:
    parsed = parse_envelope(json.dumps(envelope).encode())
    assert not isinstance(parsed, list), parsed
    return view_of(parsed)


def sample(name: str) -> EventView:
    return view(json.loads((SAMPLES / f"{name}.json").read_text()))


async def evaluate(
    rules: RuleSet,
    event: EventView,
    storage: Storage | None = None,
    now: datetime | None = None,
    *,
    explain: bool = False,
) -> Evaluation:
    return await rules.evaluate(
        event, storage if storage is not None else MemoryStorage(), now=now, dry_run=True, explain=explain
    )


async def fired(rules: RuleSet, event: EventView, now: datetime | None = None) -> list[str]:
    """The rules `event` fires, through the rule index; trying every rule must agree."""
    found = [run.rule for run in (await evaluate(rules, event, now=now)).matches]
    assert found == [run.rule for run in (await evaluate(rules, event, now=now, explain=True)).matches]
    return found


async def why_not(rules: RuleSet, event: EventView, rule: str, now: datetime | None = None) -> str:
    entry = next(e for e in (await evaluate(rules, event, now=now, explain=True)).trace if e.rule == rule)
    assert not entry.matched
    return f"{entry.trigger}: {entry.reason}"
