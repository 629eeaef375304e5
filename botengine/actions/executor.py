"""The executor: runs a matched rule's actions in order, each taking effect once.

    for each action of the rule:
        ledger says done before ──► skip it (its result is reused by later actions)
        render ─► consent (sends: opted out ─► skipped) ─► pace (sends) ─► run, within its timeout
            ok                ─► ledger: done ─► next action
            RetryableError    ─► a retry job at the policy's next time ─► … ─► dead letter
            PermanentError    ─► dead letter
            SkipRule          ─► the rest of the rule is skipped, quietly

A failing action stops its rule there: the actions after it run once it succeeds (by a retry or
a replay from the dead-letter queue), never before it, since they may use its result.

Retries are jobs in the store, run by the scheduler: nothing waits for a retry inside the worker,
so a chat whose action is retrying holds back neither other chats nor the worker.

Exactly once: each action is claimed in the ledger (actions/ledger.py: add-if-absent, keyed by
session, event id, rule and action index) before it runs and settled after, so a redelivered
event, a replayed one or a retry that races another skips what was done.

Uncertain: a crash after the request left, or a timeout waiting for its answer, leaves it unknown
whether the action took effect. The ledger tells (a claim whose owner is dead, found when the
event or its retry runs again; at once, no lease to wait out), and the action's `uncertain:`
policy decides, counted in botengine_uncertain_actions_total and shown in the event's trace:
    resend        run it again (a repeat is possible; webhooks carry an Idempotency-Key)
    skip          count it as done without knowing (nothing is sent twice; it may be missing)
    dead_letter   set it aside for a person: the rule stops there until the letter is replayed
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from botengine.actions.attempt import Attempt
from botengine.actions.base import (
    ACTIONS,
    ActionKind,
    ActionSpec,
    RuleRun,
    Services,
    SkipRule,
)
from botengine.actions.consent import OptedOut, refusal
from botengine.actions.human import lead_time
from botengine.actions.ledger import Ledger
from botengine.actions.plan import ActionOutcome, RunPlan
from botengine.actions.render import Rendered, render_action
from botengine.durations import format_duration
from botengine.errors import ActionError, PermanentError, RetryableError, StorageError, UncertainError
from botengine.events import EventView
from botengine.jobs import ActionLetter, Claim, RunJob, Settled, Uncertain, encode, job_id
from botengine.pacing import Pacer, Pacing
from botengine.retry import DEFAULT_RETRY, RetryPolicy
from botengine.secrets import redact
from botengine.storage import Job
from botengine.storage.health import StoreHealth

log = logging.getLogger("botengine.actions")

# the next action may run after these
_CONTINUES: frozenset[str] = frozenset({"done", "skipped", "dry-run", "uncertain"})

HELD_MARGIN = 5.0  # an action held by a live run is looked at again after its timeout and this


class _Held(Exception):
    """Another run holds the action's claim (a redelivery racing a retry)."""


class Executor:
    """Runs rule plans; shared by the worker (first attempts) and the scheduler (the rest).

    Each action goes down a chain, one concern per layer, like httpx's `send`:

        _one        failures → a retry job, a dead letter, or the action's `uncertain:` policy
        _guarded    the ledger guard: done before → skipped; held elsewhere → checked again later
        _paced      render, consent (actions/consent.py), then the number's sending budget
        _claimed    the ledger claim: taken before the run, settled after, released on failure
        _timed      the kind's run within its timeout; its errors mapped to ActionErrors
    """

    def __init__(
        self,
        services: Services,
        *,
        dry_run: bool = False,
        scratch: bool = False,
        pacer: Pacing | None = None,
        default_retry: RetryPolicy = DEFAULT_RETRY,
        ledger_ttl: float = 30 * 86400.0,
        health: StoreHealth | None = None,
    ) -> None:
        self.services = services
        self.storage = services.storage
        self.dry_run = dry_run
        self.scratch = scratch  # a dry run on a store of its own: kinds rehearse their store writes
        self.pacer: Pacing = pacer or Pacer(0)
        self.default_retry = default_retry
        metrics = services.metrics
        self.health = health or StoreHealth(metrics.count_store_error if metrics else None)
        self.ledger = Ledger(services.storage, self.health, ledger_ttl)

    # -- running plans --------------------------------------------------------------------------

    async def run_rule(self, view: EventView, run: RuleRun, body: bytes | str) -> list[ActionOutcome]:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return await self.run_plan(view, RunPlan.of(view, run, text))

    async def run_plan(self, view: EventView, plan: RunPlan) -> list[ActionOutcome]:
        """Every action of `plan` in order, up to the first that does not let the rest go on."""
        outcomes = []
        position = 0
        while position < len(plan.actions):
            spec = plan.actions[position]
            outcome = await self._one(view, plan, spec)
            outcomes.append(outcome)
            self._count(outcome)
            if outcome.status not in _CONTINUES:
                break
            position += 1
            kind = ACTIONS.get(spec.kind)
            if kind is not None and kind.next_actions is not None:  # a branch, a question
                rest = plan.actions[position:]
                plan.actions[position:] = kind.next_actions(spec, outcome.result, rest, plan.results)
        return outcomes

    # -- the chain ------------------------------------------------------------------------------

    async def _one(self, view: EventView, plan: RunPlan, spec: ActionSpec) -> ActionOutcome:
        attempt = Attempt.of(self.services, view, plan, spec)
        if self.dry_run:
            return await self._dry(attempt)
        try:
            return await self._guarded(attempt)
        except UncertainError as exc:
            return await self._uncertain(attempt, str(exc))
        except ActionError as exc:
            return await self._failed(attempt, exc)

    async def _guarded(self, a: Attempt) -> ActionOutcome:
        entry = await self.ledger.entry(a.slot)
        if isinstance(entry, Settled | Uncertain):
            return self._settled_before(a, entry)
        if isinstance(entry, Claim):
            if await self.ledger.running_elsewhere(entry):
                return await self._defer(a)
            a.dead_claim = entry  # its process died running it: whether it happened is unknown
            why = "the engine died while it ran"
            if a.policy != "resend":
                return await self._uncertain(a, why)
            self._note_uncertain(a, why)
        try:
            result = await self._paced(a)
        except _Held:
            return await self._defer(a)
        except SkipRule as exc:
            return a.outcome("stopped", str(exc))
        except OptedOut as exc:
            return self._opted_out(a, exc)
        self._keep(a.plan, a.spec, result)
        elapsed = a.ms
        if self.services.metrics is not None:
            self.services.metrics.action_seconds.labels(a.spec.kind).observe(elapsed / 1000)
        log.info("action done", extra={"fields": {**a.fields, "ms": round(elapsed, 1)}})
        detail = "sent again after the engine died while it ran (uncertain: resend)" if a.dead_claim else ""
        if a.kind is not None and a.kind.reads_only and isinstance(result, dict):
            detail = str(result.get("why", detail))  # a branch: the trace says which and why
        return a.outcome("done", detail, result, elapsed)

    async def _paced(self, a: Attempt) -> Any:
        """Render the parameters, then wait for the number's sending budget (kinds that send).

        The wait happens here, holding the chat, so its messages leave in the order the events
        came; the worker parks a slow event, so other chats keep their runners meanwhile.
        """
        if a.kind is None:
            raise PermanentError(f"unknown action {a.spec.kind!r} (removed from this version?)")
        kind, variables = a.kind, {**a.plan.variables, **a.plan.results}
        rendered = a.rendered = render_action(a.spec, variables, self.services.env)
        await refusal(kind, rendered.params, a.ctx)
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

    async def _claimed(self, a: Attempt, kind: ActionKind[Any], rendered: Rendered) -> Any:
        if a.dead_claim is not None:
            claim = await self.ledger.take_over(a.slot, a.dead_claim)
        else:
            claim = await self.ledger.claim(a.slot)
        if claim is None:
            raise _Held
        try:
            result = await self._timed(a, kind, rendered)
        except SkipRule as exc:
            await self.ledger.settle(a.slot, str(exc), state="stopped")
            raise
        except UncertainError:
            raise  # the claim stays: it records that the action may have happened
        except ActionError:
            await self.ledger.release(a.slot)
            raise
        finally:
            self.ledger.finished(claim)
        await self.ledger.settle(a.slot, redact(result, rendered.secrets))
        return result

    async def _timed(self, a: Attempt, kind: ActionKind[Any], rendered: Rendered) -> Any:
        timeout = a.timeout + lead_time(rendered.params)  # a `typing:` or `delay:` is not a slow answer
        try:
            async with asyncio.timeout(timeout):
                return await kind.run(rendered.params, a.ctx)
        except TimeoutError:
            waited = format_duration(timeout)
            raise UncertainError(f"no answer within {waited}; it may have been done") from None
        except StorageError as exc:  # a blip of the store (Redis restarting): worth a retry
            raise RetryableError(f"the store failed: {exc}") from exc
        except (ActionError, SkipRule):
            raise
        except Exception as exc:  # a bug in an action kind must not take the worker down
            trace = redact(traceback.format_exc(), rendered.secrets)
            log.error("action %s crashed:\n%s", a.spec.kind, trace)
            raise PermanentError(f"{type(exc).__name__}: {exc}") from exc

    # -- what the ledger says -------------------------------------------------------------------

    def _settled_before(self, a: Attempt, entry: Settled | Uncertain) -> ActionOutcome:
        if isinstance(entry, Uncertain):
            return a.outcome(
                "failed", f"set aside as uncertain (dead letter {entry.letter}): replay it to run it"
            )
        if entry.state == "stopped":  # it ended its rule then: it does again
            return a.outcome("stopped", str(entry.result or ""))
        self._keep(a.plan, a.spec, entry.result)
        if entry.uncertain:
            return a.outcome("uncertain", f"{entry.uncertain}; counted as done (uncertain: skip)")
        return a.outcome("skipped", "done before (idempotency ledger)", entry.result)

    def _opted_out(self, a: Attempt, exc: OptedOut) -> ActionOutcome:
        """A send to someone who opted out: skipped, counted, the rest of the rule goes on."""
        if self.services.metrics is not None:
            self.services.metrics.opted_out.labels(a.spec.kind).inc()
        log.info("send skipped: %s", exc, extra={"fields": a.fields})
        return a.outcome("skipped", str(exc))

    async def _defer(self, a: Attempt) -> ActionOutcome:
        """Another run holds the action: look again later (it will be done, or found uncertain)."""
        entry = await self.ledger.entry(a.slot)
        if isinstance(entry, Settled | Uncertain):
            return self._settled_before(a, entry)
        await self._reschedule(a.plan, a.spec, a.timeout + HELD_MARGIN, "held")
        return a.outcome("deferred", "being run elsewhere; will check again")

    async def _dry(self, a: Attempt) -> ActionOutcome:
        """Render and describe the action, do nothing; pretend results so later templates render.

        A kind that only reads (a branch deciding) runs for real; on a scratch store, a kind's
        rehearsal does its writes to that store (a pending question, state), never a send.
        """
        kind = ACTIONS[a.spec.kind]
        plan = a.plan
        try:
            rendered = render_action(a.spec, {**plan.variables, **plan.results}, self.services.env)
            preview = kind.preview(rendered.params, a.ctx)
            await refusal(kind, rendered.params, a.ctx)  # the store is only read
            if kind.reads_only:
                result = await kind.run(rendered.params, a.ctx)
            elif self.scratch and kind.rehearse is not None:
                result = await kind.rehearse(rendered.params, a.ctx)
            else:
                result = kind.dry_result(rendered.params, a.ctx) if kind.dry_result else {}
        except ActionError as exc:
            return a.outcome("failed", str(exc))
        except OptedOut as exc:  # what a real run would do: skip it
            a.rendered = rendered
            return dataclasses.replace(
                a.outcome("skipped", str(exc)), preview=redact(preview, rendered.secrets)
            )
        a.rendered = rendered
        if kind.reads_only and isinstance(result, dict):
            preview = {**preview, **result}  # what it decided, and why
        preview = redact(preview, rendered.secrets)
        self._keep(plan, a.spec, result)
        log.info(
            "dry run: would %s",
            a.spec.kind,
            extra={"fields": {"rule": plan.rule, "event_id": plan.event_id, "action": preview}},
        )
        return dataclasses.replace(a.outcome("dry-run", result=result), preview=preview)

    @staticmethod
    def _keep(plan: RunPlan, spec: ActionSpec, result: Any) -> None:
        """Make an action's result visible to the actions after it."""
        kind = ACTIONS.get(spec.kind)
        if kind is not None and kind.result_var:
            plan.results[kind.result_var] = result
        if spec.result_as:
            plan.results[spec.result_as] = result

    # -- uncertain ------------------------------------------------------------------------------

    async def _uncertain(self, a: Attempt, why: str) -> ActionOutcome:
        """An action that may or may not have happened: its policy decides (the module docstring)."""
        policy = a.policy
        self._note_uncertain(a, why)
        if policy == "resend":  # a timeout: the claim is ours, the retry runs it again
            await self.ledger.release(a.slot)
            return await self._failed(a, RetryableError(f"{why} (uncertain: resend)"))
        if a.dead_claim is not None:
            claim = await self.ledger.take_over(a.slot, a.dead_claim)
            if claim is None:
                return await self._defer(a)
            self.ledger.finished(claim)
        if policy == "skip":
            await self.ledger.settle(a.slot, None, uncertain=why)
            self._keep(a.plan, a.spec, None)
            return a.outcome("uncertain", f"{why}; not done again (uncertain: skip)", ms=a.ms)
        a.plan.errors.setdefault(a.spec.index, []).append(
            {
                "at": datetime.now(UTC).isoformat(),
                "attempt": a.plan.attempts.get(a.spec.index, 0) + 1,
                "error": why,
            }
        )
        letter = await self.dead_letter(a, reason=f"uncertain: {why}")
        await self.ledger.set_aside(a.slot, why, letter)
        detail = f"{why}; set aside (uncertain: dead_letter, dead letter {letter})"
        log.error("action set aside: %s", detail, extra={"fields": a.fields})
        return a.outcome("failed", detail, ms=a.ms)

    def _note_uncertain(self, a: Attempt, why: str) -> None:
        if self.services.metrics is not None:
            self.services.metrics.uncertain.labels(a.spec.kind, a.policy).inc()
        fields = {**a.fields, "policy": a.policy, "reason": why}
        log.warning("action uncertain", extra={"fields": fields})

    # -- failures -------------------------------------------------------------------------------

    async def _failed(self, a: Attempt, exc: ActionError) -> ActionOutcome:
        plan, spec = a.plan, a.spec
        # An error may quote what was sent (a URL, an answer): never let a secret through
        message = redact(str(exc), a.rendered.secrets) if a.rendered is not None else str(exc)
        attempt = a.record_error(message)
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
            log.warning(detail, extra={"fields": a.fields})
            return a.outcome("retrying", detail, ms=elapsed)
        why = "no retries left" if isinstance(exc, RetryableError) else "not retryable"
        entry_id = await self.dead_letter(a)
        detail = f"{message} ({why}; dead letter {entry_id})"
        log.error("action failed: %s", detail, extra={"fields": a.fields})
        return a.outcome("failed", detail, ms=elapsed)

    async def dead_letter(self, a: Attempt, reason: str = "") -> str:
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
            reason=reason,
            event=plan.event,
            plan=plan.from_action(spec),
        )
        if self.services.metrics is not None:
            self.services.metrics.dead_letters.labels(spec.kind).inc()
        entry = encode(letter)
        return await self.health.retry("dead_letter", lambda: self.storage.dlq_add(entry))

    async def _reschedule(self, plan: RunPlan, spec: ActionSpec, delay: float, why: str) -> None:
        """Run the rest of `plan` (from `spec` on: done actions are skipped) in `delay` seconds."""
        suffix = why if why.startswith("retry") else f"{why}-{secrets.token_hex(4)}"
        rest = plan.from_action(spec).model_copy(update={"unless": []})
        job = Job(job_id("run", plan, spec.index, suffix), time.time() + delay, encode(RunJob(plan=rest)))
        await self.health.retry("schedule", lambda: self.storage.schedule(job))

    # -- reporting ------------------------------------------------------------------------------

    def _count(self, outcome: ActionOutcome) -> None:
        if self.services.metrics is not None:
            self.services.metrics.actions.labels(outcome.kind, outcome.status).inc()
