"""What the worker does with an event, and the scheduler with a job.

    event (from the queue) ─► view ─► lid ↔ phone ─► activity facts ─► rules (the live set) ─► executor
                                                     ├► the chat's question takes its answer (asks.py)
                                                     ├► quiet windows: held (debounce.py)
                                                     └► built-in STOP/START first (keywords.py)
    job (from the store)   ─► retry / follow-up: executor │ replay of an event: back in the queue
                           │  a burst whose window ended: its rules ─► executor

One event is evaluated entirely by one version of the rules (read once, at the start). With
dry-run on, the rules are evaluated without writing anything (no cooldowns, no activity) and
every action is logged instead of performed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from botengine import activity
from botengine.actions import Capability
from botengine.actions.executor import Executor
from botengine.actions.plan import ActionOutcome, RunPlan, summary_of
from botengine.asks import Answered, Asks
from botengine.broadcaster import Broadcaster
from botengine.debounce import QuietWindows, stopped
from botengine.events import EventView, parse_envelope, view_of
from botengine.identities import Identities
from botengine.jobs import AskJob, BroadcastJob, BurstJob, RunJob, decode_job
from botengine.keywords import Keywords
from botengine.metrics import Metrics
from botengine.quiet import QuietWindow
from botengine.rules.engine import Evaluation, RuleSet, TraceEntry
from botengine.rules.triggers.handover import held_back
from botengine.storage import Incoming, Job, Storage

log = logging.getLogger(__name__)


@dataclass
class Processed:
    """One event's trip through the rules: for the event trace (dashboard) and tests."""

    view: EventView
    evaluation: Evaluation
    outcomes: list[ActionOutcome] = field(default_factory=list)
    summary: str = ""
    received_at: float = field(default_factory=time.time)  # when the receiver accepted it


EventSink = Callable[[Processed], Awaitable[None]]
"""Told about every processed event (the dashboard's traces and charts)."""
JobSink = Callable[[RunPlan, list[ActionOutcome]], Awaitable[None]]
"""Told about the actions a retry, follow-up or replay ran, for the event they belong to."""


class RuleProcessor:
    """The worker's processor: one event in, its rules evaluated and their actions run."""

    def __init__(
        self,
        rules: Callable[[], RuleSet],
        storage: Storage,
        executor: Executor,
        metrics: Metrics | None = None,
        *,
        dry_run: bool = False,
        explain: bool = False,
        listeners: Sequence[EventSink] = (),
        job_listeners: Sequence[JobSink] = (),
        broadcaster: Broadcaster | None = None,
        debounce: QuietWindow | None = None,
        keywords: Keywords | None = None,
        hold: bool | None = None,
    ) -> None:
        self.rules = rules
        self.storage = storage
        self.executor = executor
        self.metrics = metrics
        self.dry_run = dry_run
        self.explain = explain  # try every candidate rule and keep every reason (RuleSet.evaluate)
        self.identities = Identities(storage, learn=not dry_run)  # lid ↔ phone: a dry run only reads
        self.listeners = tuple(listeners)  # e.g. the dashboard's traces and charts
        self.job_listeners = tuple(job_listeners)
        self.broadcaster = broadcaster  # runs the broadcast jobs
        # `debounce:` (the engine's default window): messages wait, unless a dry run (`hold` says)
        self.quiet = QuietWindows(storage, debounce, dry_run=dry_run if hold is None else not hold)
        self.keywords = keywords  # the built-in STOP and START
        # a dry run on a scratch store (inline tests' steps) writes there as a live run would
        self.writes = not dry_run or executor.scratch
        self.asks = Asks(storage, executor, keywords)  # questions (`ask`) take their answers first

    async def __call__(self, event: Incoming) -> str:
        parsed = parse_envelope(event.body)
        if isinstance(parsed, list):  # validated at the edge; only a tampered store gets here
            raise ValueError("the queued event is not a valid event: " + parsed[0].message)
        return (await self.process(view_of(parsed), event.body, received_at=event.received_at)).summary

    async def process(
        self,
        view: EventView,
        body: bytes,
        *,
        now: datetime | None = None,
        received_at: float | None = None,
    ) -> Processed:
        """Evaluate and act on one event; `now` fixes the time rules see (tests, dry runs)."""
        rules = self.rules()  # once: the whole event sees one version
        view = await self.identities.complete(view)  # a person matches in either of their forms
        if self.writes and rules.follows_activity:
            await activity.record(self.storage, view)
        if self.writes and Capability.QUESTIONS in rules.capabilities:
            answered = await self.asks.answer(view, now)
            if answered is not None:
                return await self._answered(rules, view, answered, received_at)
        split = self.quiet.split(rules, view)
        result = await self._evaluate(split.now, view, body, now, received_at)
        matched = [run.rule for run in result.evaluation.matches]
        if split.held and not stopped(matched, rules):
            result.evaluation.trace += await self.quiet.hold(view, body, split.held, now)
            result.summary = result.summary if matched else "held"
        for listener in self.listeners:
            await _tell(listener, result)
        return result

    async def _answered(
        self, rules: RuleSet, view: EventView, answered: Answered, received_at: float | None
    ) -> Processed:
        """A message its chat's question took: no rule evaluates it; the trace says which took it."""
        evaluation = Evaluation(view.id, rules.version)
        reason = "the answer to its question (ask): no other rule sees it"
        evaluation.trace.append(TraceEntry(answered.rule, "matched", "ask", reason))
        result = Processed(view, evaluation, answered.outcomes, received_at=received_at or time.time())
        result.summary = summary_of(answered.outcomes, 1)
        for listener in self.listeners:
            await _tell(listener, result)
        return result

    async def _evaluate(
        self,
        rules: RuleSet,
        view: EventView,
        body: bytes,
        now: datetime | None,
        received_at: float | None,
        *,
        burst: bool = False,
    ) -> Processed:
        evaluation = await rules.evaluate(
            view, self.storage, now=now, dry_run=not self.writes, explain=self.explain
        )
        if self.keywords is not None and not burst:  # a burst's messages met the keywords on arrival
            await self.keywords.add_to(evaluation, view, self.storage)
        result = Processed(view, evaluation, received_at=received_at or time.time())
        for run in evaluation.matches:
            result.outcomes += await self.executor.run_rule(view, run, body)
        result.summary = summary_of(result.outcomes, len(evaluation.matches))
        return result

    async def _answer_burst(self, job: BurstJob, now: datetime | None) -> None:
        """A quiet window ended: its burst, as one event, through the rules that waited for it."""
        due = await self.quiet.close(job, self.rules())
        if due is None:
            return  # a later message re-armed the window, or the burst was answered
        view = await self.identities.complete(due.view)
        result = await self._evaluate(due.rules, view, due.body, now, None, burst=True)
        for listener in self.listeners:
            await _tell(listener, result)
        await self.quiet.done(due)

    async def run_job(self, job: Job, now: datetime | None = None) -> None:
        """The scheduler's runner: a retry or follow-up (`run`) or a replayed event (`requeue`).

        `now`: the time rules see when the job evaluates them (a burst), if not the real one."""
        record = decode_job(job.data)
        if self.metrics is not None:
            self.metrics.jobs_run.labels(record.type).inc()
        if isinstance(record, RunJob):
            await self._run_plan(record.plan, now)
        elif isinstance(record, AskJob):
            outcomes = await self.asks.expire(record)
            for listener in self.job_listeners:
                await _tell(listener, record.plan, outcomes)
        elif isinstance(record, BurstJob):
            await self._answer_burst(record, now)
        elif isinstance(record, BroadcastJob):
            if self.broadcaster is None:
                raise ValueError("a broadcast job, but this engine runs no broadcasts")
            await self.broadcaster.run(record.campaign)
        else:
            await self.storage.requeue(record.incoming())

    async def _run_plan(self, plan: RunPlan, now: datetime | None = None) -> None:
        view = plan.view()
        held = await held_back(self.rules().rule(plan.rule), view, self.storage, now)
        if held is not None:  # a person took the chat since the rule ran: the bot stays quiet
            log.info("follow-up not run: %s", held, extra={"fields": {"rule": plan.rule, "chat": plan.chat}})
            skipped = [ActionOutcome(plan.rule, s.index, s.kind, "skipped", held) for s in plan.actions]
            for listener in self.job_listeners:
                await _tell(listener, plan, skipped)
            return
        if plan.unless:
            reason = await activity.cancelled_by(
                self.storage, plan.session, plan.chat, plan.unless, plan.since
            )
            if reason is not None:
                log.info(
                    "follow-up cancelled: %s",
                    reason,
                    extra={"fields": {"rule": plan.rule, "event_id": plan.event_id, "chat": plan.chat}},
                )
                if self.metrics is not None:
                    self.metrics.follow_ups_cancelled.labels(reason).inc()
                return
        outcomes = await self.executor.run_plan(view, plan)
        for listener in self.job_listeners:
            await _tell(listener, plan, outcomes)


async def _tell(listener: Callable[..., Awaitable[None]], *args: object) -> None:
    """Observers (traces, charts) must never fail the event they observe."""
    try:
        await listener(*args)
    except Exception:
        log.exception("an observer of processed events failed (the event itself is fine)")
