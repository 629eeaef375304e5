"""Dry runs: what the rules would do with an event, through the live path, with no side effects.

The one service behind `botengine dry-run`, the rules files' inline tests and the dashboard's
playground: the real rule processor and executor in dry-run mode, on fresh in-memory storage,
with `«secret NAME»` in place of every secret (botengine/secrets.py: stand_ins).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botengine import secrets
from botengine.actions import Services
from botengine.actions.executor import Executor
from botengine.errors import BotengineError
from botengine.events import parse_envelope, view_of
from botengine.keywords import Keywords
from botengine.processing import Processed, RuleProcessor
from botengine.rules.engine import RuleSet
from botengine.state import Scope, set_var
from botengine.storage.memory import MemoryStorage
from botengine.ticks import tick_envelope

_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class ScheduledRun:
    rule: str
    session: str
    at: datetime

    def body(self) -> bytes:
        """The event the ticker would queue for this run."""
        return json.dumps(tick_envelope(self.rule, self.session, self.at), ensure_ascii=False).encode()


def scheduled_runs(
    rules: RuleSet, start: datetime, end: datetime, *, rule: str | None = None
) -> list[ScheduledRun]:
    """The runs of scheduled rules (or of the one named) in [start, end), soonest first."""
    runs = [
        ScheduledRun(r.name, r.timetable.session, at)
        for r in rules.rules
        if r.timetable is not None and rule in (None, r.name)
        for at in r.timetable.ticks(start - _INSTANT, end - _INSTANT)
    ]
    return sorted(runs, key=lambda run: (run.at, run.rule))


# A dry run inside a running engine (the dashboard's playground, editor tests and tries) must not
# write "dry run: would reply …" into the engine's log as if an event had come in. The flag is a
# context variable: only the dry run's own task is quiet, real events in the same process are not.
_QUIET: ContextVar[bool] = ContextVar("botengine_dry_run", default=False)


class _QuietWhileTrying(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _QUIET.get()


for _name in ("botengine.actions", "botengine.rules", "botengine.processing"):
    logging.getLogger(_name).addFilter(_QuietWhileTrying())


async def dry_run_event(
    rules: RuleSet,
    body: bytes,
    *,
    now: datetime | None = None,
    state: Mapping[str, Any] | None = None,
) -> Processed:
    """What the rules would do with one event, through the live path in dry-run mode.

    On fresh in-memory storage (holding the `state` given: the chat's, or the sender's with
    `scope: sender`): nothing the run does outlives it. Raises BotengineError when the body is
    not a valid event.
    """
    parsed = parse_envelope(body)
    if isinstance(parsed, list):
        raise BotengineError(
            "not a valid event: " + "; ".join(f"{p.field or 'body'}: {p.message}" for p in parsed)
        )
    view = view_of(parsed)
    storage = MemoryStorage()
    variables = dict(state or {})
    scope: Scope = "sender" if variables.pop("scope", "chat") == "sender" else "chat"
    owner = view.chat.id if scope == "chat" else (view.sender.id if view.sender else "")
    for var, value in variables.items():
        await set_var(storage, view.session, scope, owner, var, value, None)
    # whoever may try rules must not read a secret through them, reversed or cut into pieces
    executor = Executor(Services(storage=storage, env=secrets.stand_ins(os.environ)), dry_run=True)
    # explained: a dry run is asked "why did my rule not fire?", so every rule says why not
    keywords = Keywords.from_environment()  # the built-in STOP/START, as `serve` runs them
    processor = RuleProcessor(lambda: rules, storage, executor, dry_run=True, explain=True, keywords=keywords)
    quiet = _QUIET.set(True)
    try:
        return await processor.process(view, body, now=now)
    finally:
        _QUIET.reset(quiet)
