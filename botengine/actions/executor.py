"""The executor: runs a matched rule's actions in order, each taking effect once.

    for each action of the rule:
        ledger says done before ──► skip it (its result is reused by later actions)
        render ─► pace (sends) ─► run, within its timeout
            ok                ─► ledger: done ─► next action
            RetryableError    ─► a retry job at the policy's next time ─► … ─► dead letter
            PermanentError    ─► dead letter
            SkipRule          ─► the rest of the rule is skipped, quietly

A failing action stops its rule there: the actions after it run once it succeeds (by a retry or
a replay from the dead-letter queue), never before it, since they may use its result.

Retries are jobs in the store, run by the scheduler: nothing waits for a retry inside the worker,
so a chat whose action is retrying holds back neither other chats nor the worker.

Exactly once: each action is claimed in the ledger (add-if-absent, keyed by session, event id,
rule and action index) before it runs and marked done after, so a redelivered event, a replayed
one or a retry that races another skips what was done. Only a crash between an action's effect
and its "done" mark can repeat it, after the claim's lease runs out; webhooks get an
Idempotency-Key header so their receivers can drop that repeat too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from botengine.actions.base import ACTIONS, ActionContext, ActionKind, ActionSpec, RuleRun, Services, SkipRule
from botengine.actions.plan import ActionOutcome, RunPlan, Status
from botengine.actions.render import Rendered, render_action
from botengine.durations import format_duration
from botengine.errors import ActionError, PermanentError, RetryableError, StorageError
from botengine.events import EventView
from botengine.jobs import (
    ActionLetter,
    Claim,
    LedgerEntry,
    RunJob,
    Settled,
    decode_ledger,
    encode,
    job_id,
    ledger_key,
)
from botengine.pacing import Pacer, Pacing
from botengine.retry import DEFAULT_RETRY, RetryPolicy
from botengine.secrets import redact
from botengine.storage import Job
from botengine.types import JSONDict

log = logging.getLogger("botengine.actions")

_CONTINUES: frozenset[str] = frozenset({"done", "skipped", "dry-run"})  # the next action may run

LEASE_MARGIN = 30.0  # a claim outlives the action's timeout by this much before another may take it


@dataclass
class _Attempt:
    """One action of a plan on its way down the chain: what every layer needs to know of it."""

    ctx: ActionContext
    plan: RunPlan
    spec: ActionSpec
    kind: ActionKind[Any] | None
    slot: str  # its place in the ledger
    timeout: float
    started: float = field(default_factory=time.perf_counter)
    rendered: Rendered | None = None

    @classmethod
    def of(cls, services: Services, view: EventView, plan: RunPlan, spec: ActionSpec) -> _Attempt:
        kind = ACTIONS.get(spec.kind)
        return cls(
            ctx=ActionContext(view, plan.rule, spec.index, services, plan.results, spec, plan),
            plan=plan,
            spec=spec,
            kind=kind,
            slot=ledger_key(plan.session, plan.event_id, plan.rule, spec.index),
            timeout=spec.timeout or (kind.timeout if kind else 15.0),
        )

    @property
    def ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def outcome(self, status: Status, detail: str = "", result: Any = None, ms: float = 0.0) -> ActionOutcome:
        shown = self.rendered.shown if self.rendered is not None else None
        spec = self.spec
        return ActionOutcome(self.plan.rule, spec.index, spec.kind, status, detail, shown, result, ms)


class _Held(Exception):
    """Another run holds the action's claim (a redelivery racing a retry)."""


class Executor:
    """Runs rule plans; shared by the worker (first attempts) and the scheduler (the rest).

    Each action goes down a chain, one concern per layer, like httpx's `send`:

        _one        failures → a retry job or a dead letter
        _guarded    the ledger guard: done before → skipped; held elsewhere → checked again later
        _paced      render, then the number's sending budget
        _claimed    the ledger claim: taken before the run, marked done after, released on failure
        _timed      the kind's run within its timeout; its errors mapped to ActionErrors
    """

    def __init__(
        self,
        services: Services,
        *,
        dry_run: bool = False,
        pacer: Pacing | None = None,
        default_retry: RetryPolicy = DEFAULT_RETRY,
        ledger_ttl: float = 30 * 86400.0,
    ) -> None:
        self.services = services
        self.storage = services.storage
        self.dry_run = dry_run
        self.pacer: Pacing = pacer or Pacer(0)
        self.default_retry = default_retry
        self.ledger_ttl = ledger_ttl

    # -- running plans --------------------------------------------------------------------------

    async def run_rule(self, view: EventView, run: RuleRun, body: bytes | str) -> list[ActionOutcome]:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return await self.run_plan(view, RunPlan.of(view, run, text))

    async def run_plan(self, view: EventView, plan: RunPlan) -> list[ActionOutcome]:
        """Every action of `plan` in order, up to the first that does not let the rest go on."""
        outcomes = []
        for spec in plan.actions:
            outcome = await self._one(view, plan, spec)
            outcomes.append(outcome)
            self._count(outcome)
            if outcome.status not in _CONTINUES:
                break
        return outcomes

    # -- the chain ------------------------------------------------------------------------------

    async def _one(self, view: EventView, plan: RunPlan, spec: ActionSpec) -> ActionOutcome:
        attempt = _Attempt.of(self.services, view, plan, spec)
        if self.dry_run:
            return self._dry(attempt)
        try:
            return await self._guarded(attempt)
        except ActionError as exc:
            return await self._failed(attempt, exc)

    async def _guarded(self, a: _Attempt) -> ActionOutcome:
        if (before := await self._done_before(a)) is not None:
            return before
        try:
            result = await self._paced(a)
        except _Held:
            if (before := await self._done_before(a)) is not None:
                return before
            await self._reschedule(a.plan, a.spec, a.timeout + LEASE_MARGIN, "held")
            return a.outcome("deferred", "being run elsewhere; will check again")
        except SkipRule as exc:
            return a.outcome("stopped", str(exc))
        self._keep(a.plan, a.spec, result)
        elapsed = a.ms
        if self.services.metrics is not None:
            self.services.metrics.action_seconds.labels(a.spec.kind).observe(elapsed / 1000)
        log.info("action done", extra={"fields": {**_fields(a.plan, a.spec), "ms": round(elapsed, 1)}})
        return a.outcome("done", "", result, elapsed)

    async def _paced(self, a: _Attempt) -> Any:
        """Render the parameters, then wait for the number's sending budget (kinds that send).

        The wait happens here, holding the chat, so its messages leave in the order the events
        came; the worker parks a slow event, so other chats keep their runners meanwhile.
        """
        if a.kind is None:
            raise PermanentError(f"unknown action {a.spec.kind!r} (removed from this version?)")
        kind, variables = a.kind, {**a.plan.variables, **a.plan.results}
        rendered = a.rendered = render_action(a.spec, variables, self.services.env)
        booking = None
        if kind.sends:
            try:
                wait, booking = await self.pacer.reserve(a.plan.session)
            except StorageError as exc:
                raise RetryableError(f"the store failed: {exc}") from exc
            if wait > 0:
                await asyncio.sleep(wait)
        try:
            return await self._claimed(a, kind, rendered)
        except _Held:
            if booking is not None:
                await self.pacer.release(a.plan.session, booking)
            raise

    async def _claimed(self, a: _Attempt, kind: ActionKind[Any], rendered: Rendered) -> Any:
        if await self._claim(a.slot, a.timeout + LEASE_MARGIN) is not None:
            raise _Held
        try:
            result = await self._timed(a, kind, rendered)
        except SkipRule as exc:
            await self._mark_done(a.slot, str(exc), state="stopped")
            raise
        except ActionError:
            await self._unclaim(a.slot)
            raise
        await self._mark_done(a.slot, result)
        return result

    async def _timed(self, a: _Attempt, kind: ActionKind[Any], rendered: Rendered) -> Any:
        try:
            async with asyncio.timeout(a.timeout):
                return await kind.run(rendered.params, a.ctx)
        except TimeoutError:
            raise RetryableError(f"no answer within {format_duration(a.timeout)}") from None
        except StorageError as exc:  # a blip of the store (Redis restarting): worth a retry
            raise RetryableError(f"the store failed: {exc}") from exc
        except (ActionError, SkipRule):
            raise
        except Exception as exc:  # a bug in an action kind must not take the worker down
            trace = redact(traceback.format_exc(), rendered.secrets)
            log.error("action %s crashed:\n%s", a.spec.kind, trace)
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc

    async def _done_before(self, a: _Attempt) -> ActionOutcome | None:
        """The outcome when the ledger says this action already ran for this event, else None."""
        held = decode_ledger(await self.storage.get(a.slot))
        if not isinstance(held, Settled):
            return None
        if held.state == "done":
            self._keep(a.plan, a.spec, held.result)
            return a.outcome("skipped", "done before (idempotency ledger)")
        return a.outcome("stopped", str(held.result or ""))  # it ended its rule then: it does again

    def _dry(self, a: _Attempt) -> ActionOutcome:
        """Render and describe the action, do nothing; pretend results so later templates render."""
        kind = ACTIONS[a.spec.kind]
        plan = a.plan
        try:
            rendered = render_action(a.spec, {**plan.variables, **plan.results}, self.services.env)
            preview = kind.preview(rendered.params, a.ctx)
        except ActionError as exc:
            return a.outcome("failed", str(exc))
        a.rendered = rendered
        preview = redact(preview, rendered.secrets)
        self._keep(plan, a.spec, kind.dry_result(rendered.params, a.ctx) if kind.dry_result else {})
        log.info(
            "dry run: would %s",
            a.spec.kind,
            extra={"fields": {"rule": plan.rule, "event_id": plan.event_id, "action": preview}},
        )
        return dataclasses.replace(a.outcome("dry-run"), preview=preview)

    # -- the ledger -----------------------------------------------------------------------------

    async def _claim(self, slot: str, lease: float) -> LedgerEntry | None:
        """None when this run may do the action; else the ledger entry that says otherwise."""
        for _ in range(2):
            if await self.storage.add(slot, encode(Claim()), ttl=lease):
                return None
            held = decode_ledger(await self.storage.get(slot))
            if held is not None:
                return held
            # expired or finished between the two calls: try once more
        return Claim()

    async def _mark_done(self, slot: str, result: Any, state: Literal["done", "stopped"] = "done") -> None:
        try:
            await self.storage.put(slot, encode(Settled(state=state, result=result)), ttl=self.ledger_ttl)
        except StorageError:
            # the effect happened; without the mark a redelivery could repeat it: say so loudly
            log.exception("action done but not recorded in the ledger: %s", slot.replace("\x1f", " "))

    async def _unclaim(self, slot: str) -> None:
        try:
            await self.storage.delete(slot)
        except StorageError:
            log.warning("could not release the claim %s; it expires with its lease", slot)

    @staticmethod
    def _keep(plan: RunPlan, spec: ActionSpec, result: Any) -> None:
        """Make an action's result visible to the actions after it."""
        kind = ACTIONS.get(spec.kind)
        if kind is not None and kind.result_var:
            plan.results[kind.result_var] = result
        if spec.result_as:
            plan.results[spec.result_as] = result

    # -- failures -------------------------------------------------------------------------------

    async def _failed(self, a: _Attempt, exc: ActionError) -> ActionOutcome:
        plan, spec = a.plan, a.spec
        attempt = plan.attempts.get(spec.index, 0) + 1
        # An error may quote what was sent (a URL, an answer): never let a secret through
        message = redact(str(exc), a.rendered.secrets) if a.rendered is not None else str(exc)
        plan.errors.setdefault(spec.index, []).append(
            {"at": datetime.now(UTC).isoformat(), "attempt": attempt, "error": message}
        )
        policy = spec.retry or plan.retry or self.default_retry
        elapsed = a.ms
        if isinstance(exc, RetryableError) and attempt <= policy.retries:
            plan.attempts[spec.index] = attempt
            delay = policy.wait_before(attempt, exc.retry_after)
            await self._reschedule(plan, spec, delay, f"retry{attempt}")
            detail = (
                f"attempt {attempt} of {policy.retries + 1} failed: {message}; "
                f"next in {format_duration(delay)}"
            )
            log.warning(detail, extra={"fields": _fields(plan, spec)})
            return a.outcome("retrying", detail, ms=elapsed)
        why = "no retries left" if isinstance(exc, RetryableError) else "not retryable"
        entry_id = await self.dead_letter(a)
        detail = f"{message} ({why}; dead letter {entry_id})"
        log.error("action failed: %s", detail, extra={"fields": _fields(plan, spec)})
        return a.outcome("failed", detail, ms=elapsed)

    async def dead_letter(self, a: _Attempt) -> str:
        plan, spec = a.plan, a.spec
        letter = ActionLetter(
            session=plan.session,
            event_id=plan.event_id,
            event_type=a.ctx.event.type,
            chat=plan.chat,
            rule=plan.rule,
            action=spec.kind,
            index=spec.index,
            location=spec.location,
            params=a.rendered.shown if a.rendered else spec.model_dump(mode="json")["params"],
            errors=plan.errors.get(spec.index, []),
            event=plan.event,
            plan=plan.from_action(spec),
        )
        if self.services.metrics is not None:
            self.services.metrics.dead_letters.labels(spec.kind).inc()
        return await self.storage.dlq_add(encode(letter))

    async def _reschedule(self, plan: RunPlan, spec: ActionSpec, delay: float, why: str) -> None:
        """Run the rest of `plan` (from `spec` on: done actions are skipped) in `delay` seconds."""
        suffix = why if why.startswith("retry") else f"{why}-{secrets.token_hex(4)}"
        rest = plan.from_action(spec).model_copy(update={"unless": []})
        job = Job(job_id("run", plan, spec.index, suffix), time.time() + delay, encode(RunJob(plan=rest)))
        await self.storage.schedule(job)

    # -- reporting ------------------------------------------------------------------------------

    def _count(self, outcome: ActionOutcome) -> None:
        if self.services.metrics is not None:
            self.services.metrics.actions.labels(outcome.kind, outcome.status).inc()


def _fields(plan: RunPlan, spec: ActionSpec) -> JSONDict:
    return {"rule": plan.rule, "action": spec.kind, "event_id": plan.event_id, "chat": plan.chat}
