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
import contextlib
import dataclasses
import logging
import secrets
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from botengine.actions.base import ACTIONS, ActionContext, ActionSpec, RuleRun, Services, SkipRule
from botengine.actions.plan import ActionOutcome, RunPlan, Status
from botengine.actions.render import Rendered, render_action
from botengine.durations import format_duration
from botengine.errors import ActionError, PermanentError, RetryableError, StorageError
from botengine.events import EventView
from botengine.pacing import Pacer, Pacing
from botengine.retry import DEFAULT_RETRY, RetryPolicy
from botengine.secrets import redact
from botengine.storage import Job
from botengine.storage.keys import key
from botengine.types import JSONDict

log = logging.getLogger("botengine.actions")

_CONTINUES: frozenset[str] = frozenset({"done", "skipped", "dry-run"})  # the next action may run

LEASE_MARGIN = 30.0  # a claim outlives the action's timeout by this much before another may take it


def ledger_key(session: str, event_id: str, rule: str, index: str) -> str:
    return key("ledger", session, event_id, rule, index)


def job_id(kind: str, plan: RunPlan, index: str, suffix: str = "") -> str:
    return "\x1f".join((kind, plan.session, plan.event_id, plan.rule, index, suffix))


class Executor:
    """Runs rule plans; shared by the worker (first attempts) and the scheduler (the rest)."""

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

    async def _one(self, view: EventView, plan: RunPlan, spec: ActionSpec) -> ActionOutcome:
        ctx = ActionContext(view, plan.rule, spec.index, self.services, plan.results, spec, plan)
        if self.dry_run:
            return self._dry(ctx, plan, spec)
        slot = ledger_key(plan.session, plan.event_id, plan.rule, spec.index)
        kind = ACTIONS.get(spec.kind)
        timeout = spec.timeout or (kind.timeout if kind else 15.0)
        if (before := await self._done_before(plan, spec, slot)) is not None:
            return before
        started = time.perf_counter()
        rendered: Rendered | None = None
        try:
            if kind is None:
                raise PermanentError(f"unknown action {spec.kind!r} (removed from this version?)")
            rendered = render_action(spec, {**plan.variables, **plan.results}, self.services.env)
            booking = await self._pace(plan.session) if kind.sends else None
        except ActionError as exc:
            return await self._failed(plan, spec, exc, rendered, started)
        except StorageError as exc:
            return await self._failed(
                plan, spec, RetryableError(f"the store failed: {exc}"), rendered, started
            )
        held = await self._claim(slot, timeout + LEASE_MARGIN)
        if held is not None:  # another run got here first
            if booking is not None:
                await self.pacer.release(plan.session, booking)
            if (before := await self._done_before(plan, spec, slot)) is not None:
                return before
            await self._reschedule(plan, spec, timeout + LEASE_MARGIN, "held")
            return self._outcome(plan, spec, "deferred", "being run elsewhere; will check again")
        try:
            try:
                async with asyncio.timeout(timeout):
                    result = await kind.run(rendered.params, ctx)
            except TimeoutError:
                raise RetryableError(f"no answer within {format_duration(timeout)}") from None
            except StorageError as exc:  # a blip of the store (Redis restarting): worth a retry
                raise RetryableError(f"the store failed: {exc}") from exc
        except SkipRule as exc:
            await self._mark_done(slot, str(exc), state="stopped")
            return self._outcome(plan, spec, "stopped", str(exc), rendered)
        except ActionError as exc:
            await self._unclaim(slot)
            return await self._failed(plan, spec, exc, rendered, started)
        except Exception as exc:  # a bug in an action kind must not take the worker down
            await self._unclaim(slot)
            trace = redact(traceback.format_exc(), rendered.secrets)
            log.error("action %s crashed:\n%s", spec.kind, trace)
            crash = PermanentError(f"{type(exc).__name__}: {exc}")
            return await self._failed(plan, spec, crash, rendered, started)
        await self._mark_done(slot, result)
        self._keep(plan, spec, result)
        elapsed = (time.perf_counter() - started) * 1000
        if self.services.metrics is not None:
            self.services.metrics.action_seconds.labels(spec.kind).observe(elapsed / 1000)
        log.info("action done", extra={"fields": {**_fields(plan, spec), "ms": round(elapsed, 1)}})
        return self._outcome(plan, spec, "done", "", rendered, result, elapsed)

    async def _done_before(self, plan: RunPlan, spec: ActionSpec, slot: str) -> ActionOutcome | None:
        """The outcome when the ledger says this action already ran for this event, else None."""
        held = await self.storage.get(slot)
        if not isinstance(held, dict):
            return None
        if held.get("state") == "done":
            self._keep(plan, spec, held.get("result"))
            return self._outcome(plan, spec, "skipped", "done before (idempotency ledger)")
        if held.get("state") == "stopped":  # it ended its rule then: it does again
            return self._outcome(plan, spec, "stopped", str(held.get("result", "")))
        return None

    async def _pace(self, session: str) -> object:
        """Wait for a place in the number's sending budget; the booking, to give back if unused.

        The wait happens here, holding the chat, so its messages leave in the order the events
        came; the worker parks a slow event, so other chats keep their runners meanwhile.
        """
        wait, booking = await self.pacer.reserve(session)
        if wait > 0:
            await asyncio.sleep(wait)
        return booking

    def _dry(self, ctx: ActionContext, plan: RunPlan, spec: ActionSpec) -> ActionOutcome:
        """Render and describe the action, do nothing; pretend results so later templates render."""
        kind = ACTIONS[spec.kind]
        try:
            rendered = render_action(spec, {**plan.variables, **plan.results}, self.services.env)
            preview = kind.preview(rendered.params, ctx)
        except ActionError as exc:
            return self._outcome(plan, spec, "failed", str(exc))
        preview = redact(preview, rendered.secrets)
        self._keep(plan, spec, kind.dry_result(rendered.params, ctx) if kind.dry_result else {})
        log.info(
            "dry run: would %s",
            spec.kind,
            extra={"fields": {"rule": plan.rule, "event_id": plan.event_id, "action": preview}},
        )
        outcome = self._outcome(plan, spec, "dry-run", "", rendered)
        return dataclasses.replace(outcome, preview=preview)

    # -- the ledger -----------------------------------------------------------------------------

    async def _claim(self, slot: str, lease: float) -> JSONDict | None:
        """None when this run may do the action; else the ledger entry that says otherwise."""
        for _ in range(2):
            if await self.storage.add(slot, {"state": "running", "at": time.time()}, ttl=lease):
                return None
            held = await self.storage.get(slot)
            if isinstance(held, dict):
                return held
            # expired or finished between the two calls: try once more
        return {"state": "running"}

    async def _mark_done(self, slot: str, result: Any, state: str = "done") -> None:
        entry = {"state": state, "at": time.time(), "result": result}
        try:
            await self.storage.put(slot, entry, ttl=self.ledger_ttl)
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

    async def _failed(
        self, plan: RunPlan, spec: ActionSpec, exc: ActionError, rendered: Rendered | None, started: float
    ) -> ActionOutcome:
        attempt = plan.attempts.get(spec.index, 0) + 1
        # An error may quote what was sent (a URL, an answer): never let a secret through
        message = redact(str(exc), rendered.secrets) if rendered is not None else str(exc)
        plan.errors.setdefault(spec.index, []).append(
            {"at": datetime.now(UTC).isoformat(), "attempt": attempt, "error": message}
        )
        policy = spec.retry or plan.retry or self.default_retry
        elapsed = (time.perf_counter() - started) * 1000
        if isinstance(exc, RetryableError) and attempt <= policy.retries:
            plan.attempts[spec.index] = attempt
            delay = policy.wait_before(attempt, exc.retry_after)
            await self._reschedule(plan, spec, delay, f"retry{attempt}")
            detail = (
                f"attempt {attempt} of {policy.retries + 1} failed: {message}; "
                f"next in {format_duration(delay)}"
            )
            log.warning(detail, extra={"fields": _fields(plan, spec)})
            return self._outcome(plan, spec, "retrying", detail, rendered, ms=elapsed)
        why = "no retries left" if isinstance(exc, RetryableError) else "not retryable"
        entry_id = await self.dead_letter(plan, spec, rendered)
        detail = f"{message} ({why}; dead letter {entry_id})"
        log.error("action failed: %s", detail, extra={"fields": _fields(plan, spec)})
        return self._outcome(plan, spec, "failed", detail, rendered, ms=elapsed)

    async def dead_letter(self, plan: RunPlan, spec: ActionSpec, rendered: Rendered | None) -> str:
        view_type = ""
        with contextlib.suppress(ActionError):
            view_type = plan.view().type
        entry: JSONDict = {
            "kind": "action",
            "session": plan.session,
            "event_id": plan.event_id,
            "event_type": view_type,
            "chat": plan.chat,
            "rule": plan.rule,
            "action": spec.kind,
            "index": spec.index,
            "location": spec.location,
            "params": rendered.shown if rendered else spec.to_json()["params"],
            "errors": plan.errors.get(spec.index, []),
            "event": plan.event,
            "plan": plan.from_action(spec).to_json(),
        }
        if self.services.metrics is not None:
            self.services.metrics.dead_letters.labels(spec.kind).inc()
        return await self.storage.dlq_add(entry)

    async def _reschedule(self, plan: RunPlan, spec: ActionSpec, delay: float, why: str) -> None:
        """Run the rest of `plan` (from `spec` on: done actions are skipped) in `delay` seconds."""
        suffix = why if why.startswith("retry") else f"{why}-{secrets.token_hex(4)}"
        data = {"type": "run", "plan": {**plan.from_action(spec).to_json(), "unless": []}}
        await self.storage.schedule(Job(job_id("run", plan, spec.index, suffix), time.time() + delay, data))

    # -- `later` --------------------------------------------------------------------------------

    async def follow_up(
        self, ctx: ActionContext, actions: tuple[ActionSpec, ...], after: float, unless: tuple[str, ...]
    ) -> JSONDict:
        """Schedule `actions` of the running rule to run in `after` seconds (the `later` action)."""
        plan = ctx.plan
        assert isinstance(plan, RunPlan)
        follow = RunPlan(
            event=plan.event,
            session=plan.session,
            event_id=plan.event_id,
            chat=plan.chat,
            rule=plan.rule,
            variables=plan.variables,
            actions=list(actions),
            retry=plan.retry,
            results=dict(plan.results),
            unless=list(unless),
            since=ctx.event.timestamp_ms / 1000,
        )
        due = time.time() + after
        job = Job(job_id("later", plan, ctx.index), due, {"type": "run", "plan": follow.to_json()})
        await self.storage.schedule(job)  # the same id on a redelivery: scheduled once
        return {"due": datetime.fromtimestamp(due, UTC).isoformat(), "unless": list(unless)}

    # -- reporting ------------------------------------------------------------------------------

    @staticmethod
    def _outcome(
        plan: RunPlan,
        spec: ActionSpec,
        status: Status,
        detail: str = "",
        rendered: Rendered | None = None,
        result: Any = None,
        ms: float = 0.0,
    ) -> ActionOutcome:
        params = rendered.shown if rendered is not None else None
        return ActionOutcome(plan.rule, spec.index, spec.kind, status, detail, params, result, ms)

    def _count(self, outcome: ActionOutcome) -> None:
        if self.services.metrics is not None:
            self.services.metrics.actions.labels(outcome.kind, outcome.status).inc()


def _fields(plan: RunPlan, spec: ActionSpec) -> JSONDict:
    return {"rule": plan.rule, "action": spec.kind, "event_id": plan.event_id, "chat": plan.chat}
