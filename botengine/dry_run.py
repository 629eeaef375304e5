"""Dry runs: what the rules would do with an event, through the live path, with no side effects.

The one service behind `botengine dry-run`, the rules files' inline tests and the dashboard's
playground: the real rule processor and executor in dry-run mode, on fresh in-memory storage,
with `«secret NAME»` in place of every secret (botengine/secrets.py: stand_ins).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botengine import secrets
from botengine.actions import Services
from botengine.actions.executor import Executor
from botengine.actions.follow_ups import FollowUps
from botengine.actions.plan import ActionOutcome, RunPlan
from botengine.errors import BotengineError
from botengine.events import EventView, parse_envelope, view_of
from botengine.keywords import Keywords
from botengine.processing import Processed, RuleProcessor
from botengine.rules.engine import RuleSet
from botengine.state import Scope, set_var
from botengine.storage import Job
from botengine.storage.memory import MemoryStorage
from botengine.ticks import tick_envelope

_INSTANT = timedelta(microseconds=1)
_JOBS_PER_WAIT = 1000  # a job that schedules itself again must not keep a wait going for ever


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
    rehearsal = Rehearsal(rules, now)
    return await rehearsal.event(body, state)


class Rehearsal:
    """Events and time passing, dry-run on one scratch store of their own (inline tests' steps).

    What the rules write to botengine's own store (state, cooldowns, questions waiting, follow-ups)
    is written to that store, so the next event sees it; what would leave it (messages, webhooks)
    is only rendered and described. `wait()` moves the clock on: the jobs that fall due meanwhile
    (follow-ups, the time limits of questions) run, as the scheduler would run them.
    """

    def __init__(self, rules: RuleSet, now: datetime | None = None, *, hold: bool = False) -> None:
        self.storage = MemoryStorage()
        # whoever may try rules must not read a secret through them, reversed or cut into pieces
        env = secrets.stand_ins(os.environ)
        services = Services(storage=self.storage, env=env, follow_up=FollowUps(self.storage).schedule)
        executor = Executor(services, dry_run=True, scratch=True)
        # explained: a dry run is asked "why did my rule not fire?", so every rule says why not
        keywords = Keywords.from_environment()  # the built-in STOP/START, as `serve` runs them
        self.processor = RuleProcessor(
            lambda: rules,
            self.storage,
            executor,
            dry_run=True,
            explain=True,
            keywords=keywords,
            job_listeners=[self._ran],
            listeners=[self._answered],
            hold=hold,  # steps: quiet windows hold messages, a wait answers the burst (debounce.py)
        )
        self.now = now  # the clock the rules see (None: the real one), moved on by wait()
        self.waited = 0.0
        self._ran_by_jobs: list[ActionOutcome] = []

    async def event(self, body: bytes, state: Mapping[str, Any] | None = None) -> Processed:
        """What the rules do with one event (`state`: set for its chat, or sender, before it)."""
        parsed = parse_envelope(body)
        if isinstance(parsed, list):
            raise BotengineError(
                "not a valid event: " + "; ".join(f"{p.field or 'body'}: {p.message}" for p in parsed)
            )
        view = view_of(parsed)
        await _preload(self.storage, view, state or {})
        quiet = _QUIET.set(True)
        try:
            return await self.processor.process(view, body, now=self._clock())
        finally:
            _QUIET.reset(quiet)

    async def wait(self, seconds: float) -> list[ActionOutcome]:
        """Let `seconds` pass: every job falling due meanwhile runs; what they did, in order."""
        self.waited += seconds
        for job in await self.storage.jobs():  # everything scheduled comes `seconds` closer
            await self.storage.finish(job.id)
            await self.storage.schedule(Job(job.id, job.due - seconds, job.data))
        self._ran_by_jobs = []
        quiet = _QUIET.set(True)
        try:
            for _ in range(_JOBS_PER_WAIT):
                due = await self.storage.take_due(time.time(), 1)
                if not due:
                    break
                await self.processor.run_job(due[0], now=self._clock())  # a burst's rules see it
                await self.storage.finish(due[0].id)
        finally:
            _QUIET.reset(quiet)
        return self._ran_by_jobs

    def _clock(self) -> datetime | None:
        """The time the rules see: the test's `now:` (or the real time) plus the time waited."""
        if self.now is None and not self.waited:
            return None
        return (self.now or datetime.now(UTC)) + timedelta(seconds=self.waited)

    async def _ran(self, plan: RunPlan, outcomes: list[ActionOutcome]) -> None:
        self._ran_by_jobs += outcomes

    async def _answered(self, processed: Processed) -> None:
        if processed.view.burst:  # a burst whose quiet window ended during a wait
            self._ran_by_jobs += processed.outcomes


async def _preload(storage: MemoryStorage, view: EventView, state: Mapping[str, Any]) -> None:
    variables = dict(state)
    scope: Scope = "sender" if variables.pop("scope", "chat") == "sender" else "chat"
    owner = view.chat.id if scope == "chat" else (view.sender.id if view.sender else "")
    for var, value in variables.items():
        await set_var(storage, view.session, scope, owner, var, value, None)
