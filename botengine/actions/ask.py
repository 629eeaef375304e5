"""`ask`: send a question, then wait for the answer (the next message in that chat).

    - ask: "What is your order number? (5 digits, on your receipt)"
      as: order                 # the answer lands in state: {{ state.order }} (and {{ order }})
      expect: number            # or email, phone, a list of choices, or triggers: {text: '^\\d{5}$'}
      again: "Just the 5 digits, please."
      tries: 2                  # said at most twice; then the question gives up (else: runs)
      wait: 10m                 # no answer by then: else: runs
      then: [{reply: "Thanks!"}]
      else: [{reply: "No answer: write 'order' to start again."}]
    - reply: "Order {{ state.order }}: where should it go?"   # runs after the answer (and then:)

The rule stops at the question; what comes after it (its `then:`, then the rest of the rule) is
stored with the question and runs when a valid answer comes (botengine/asks.py). The question is
kept in the store and its time limit is a scheduled job, so a restart neither loses nor repeats
it. The question and the pending record are written inside the action's ledger claim: a crash
before it settles asks again (`uncertain: resend`, the default: a lost question stalls the form).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from botengine.actions.base import ActionContext, ActionKind, ActionSpec, Capability, Params
from botengine.actions.branches import branch_of
from botengine.actions.consent import CONFIRMS
from botengine.actions.messaging import ReplyParams, run_reply
from botengine.actions.plan import RunPlan
from botengine.durations import Duration, format_duration
from botengine.errors import PermanentError, RecordError
from botengine.events import EventView
from botengine.jobs import AskJob, PendingAsk, encode, job_id
from botengine.state import DEFAULT_TTL
from botengine.storage import Job, Storage
from botengine.storage.keys import key
from botengine.types import JSONDict

MAX_WAIT = 7 * 86400.0
KEEP_AFTER = 86400.0  # a question outlives its time limit by this much, for a late timeout job
DEFAULT_VAR = "answer"

Builtin = Literal["number", "email", "phone"]


def waiting_key(view: EventView) -> str:
    """Where a chat's question waits (in a group, the question of the person it was asked).

    Keyed by the phone form when it is known, as handovers are: WhatsApp may name one chat by its
    phone number in one message and by its @lid in the next, and the answer must find its question."""
    sender = view.sender
    person = (sender.phone or sender.id) if view.chat.kind == "group" and sender else ""
    return key("ask", "wait", view.session, view.chat.phone or view.chat.id, person)


def taken_key(token: str) -> str:
    """Who settled a question (an answer's event id, or 'timeout'): whoever adds it first."""
    return key("ask", "taken", token)


def answered_key(session: str, event_id: str) -> str:
    """Which question a message answered (so a redelivered answer is never taken for the next)."""
    return key("ask", "answer", session, event_id)


class AskParams(Params):
    text: str = Field(min_length=1, max_length=4096, description="the question (a template)")
    expect: Builtin | list[str] | dict[str, Any] | None = Field(
        None,
        description="what a valid answer is: number, email, phone, a list of choices, or triggers",
    )
    again: str | None = Field(None, description="said when the answer is not valid (default: the question)")
    tries: int = Field(2, ge=0, le=10, description="how many times `again` is said before giving up")
    wait: Duration = Field(600.0, description="how long to wait for the answer (default 10m, at most 7d)")
    expires: Duration = Field(DEFAULT_TTL, description="how long the answer is kept in state (default 1d)")
    scope: Literal["chat", "sender"] = Field("chat", description="the answer is kept per chat, or per sender")
    then: list[Any] = Field(default_factory=list, description="actions to run with a valid answer")
    else_: list[Any] = Field(
        default_factory=list, alias="else", description="actions to run when no valid answer came in time"
    )

    @field_validator("wait")
    @classmethod
    def _bounded(cls, value: float) -> float:
        if not 0 < value <= MAX_WAIT:
            raise ValueError("wait: must be more than 0 and at most 7d")
        return value

    @field_validator("expect")
    @classmethod
    def _choices(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("give at least one choice, e.g. [yes, no]")
        return value


def _rest_of(ctx: ActionContext) -> tuple[RunPlan, ActionSpec, list[ActionSpec]]:
    plan, spec = ctx.plan, ctx.spec
    if plan is None or spec is None or spec not in plan.actions:
        raise PermanentError("ask: it runs only inside a rule")
    return plan, spec, plan.actions[plan.actions.index(spec) + 1 :]


async def _wait(params: AskParams, ctx: ActionContext) -> JSONDict:
    """Store the question (the rest of the rule with it) and schedule its time limit."""
    if not ctx.event.chat.id:
        raise PermanentError("ask: this event has no chat to wait for an answer in")
    plan, spec, rest = _rest_of(ctx)
    # the answer comes in another run, maybe days later: an opt_out earlier in this run confirms
    # nothing there (as for follow-ups), so its mark is not carried
    kept = {name: value for name, value in plan.results.items() if name != CONFIRMS}
    fresh = {"results": kept, "attempts": {}, "errors": {}, "unless": []}
    after = plan.model_copy(update={**fresh, "actions": [*branch_of(spec, 0), *rest]})
    otherwise = branch_of(spec, 1)
    token, slot = ctx.idempotency_key, waiting_key(ctx.event)
    job = job_id("ask", plan, spec.index)
    due = time.time() + params.wait
    record = PendingAsk(
        token=token,
        index=spec.index,
        var=spec.result_as or DEFAULT_VAR,
        scope=params.scope,
        expires=params.expires,
        expect=params.expect,
        again=params.again or params.text,
        tries=params.tries,
        until=due,
        job=job,
        plan=after,
        otherwise=otherwise,
    )
    storage = ctx.services.storage
    await _replace(storage, slot, token)
    await storage.put(slot, encode(record), ttl=params.wait + KEEP_AFTER)
    timeout = AskJob(slot=slot, token=token, plan=plan.model_copy(update={**fresh, "actions": otherwise}))
    await storage.schedule(Job(job, due, encode(timeout)))  # the same id on a redelivery: once
    return {"waiting_until": datetime.fromtimestamp(due, UTC).isoformat(), "as": record.var}


async def _replace(storage: Storage, slot: str, token: str) -> None:
    """A newer question in the chat replaces the one waiting there: the old one is settled as
    replaced, so its time limit says nothing (its `else:` was about a question nobody waits on)."""
    waiting = await storage.get(slot)
    try:
        old = PendingAsk.model_validate(waiting) if waiting is not None else None
    except (ValueError, RecordError):
        return  # not a question this version can read: it is left to expire
    if old is None or old.token == token:  # nothing waits, or this very question asked again (a rerun)
        return
    await storage.add(taken_key(old.token), "replaced", ttl=MAX_WAIT + KEEP_AFTER)
    await storage.finish(old.job)


async def run_ask(params: AskParams, ctx: ActionContext) -> JSONDict:
    sent = await run_reply(ReplyParams(text=params.text), ctx)
    return {**sent, **await _wait(params, ctx)}


def preview_ask(params: AskParams, ctx: ActionContext) -> JSONDict:
    var = (ctx.spec.result_as if ctx.spec else None) or DEFAULT_VAR
    shown: JSONDict = {
        "to": ctx.event.reply_chat,
        "text": params.text,
        "as": var,
        "wait": format_duration(params.wait),
    }
    if params.expect is not None:
        shown["expect"] = params.expect
    return shown


def _waits(
    spec: ActionSpec, result: Any, rest: list[ActionSpec], results: dict[str, Any]
) -> list[ActionSpec]:
    return []  # the rest of the rule waits with the question, for the answer


def ask_paths(params: Any) -> list[tuple[tuple[Any, ...] | None, tuple[Any, ...]]]:
    """then: (its condition: `expect:` written as triggers) and else:."""
    expect = params.get("expect") if isinstance(params, dict) else None
    return [(("expect",) if isinstance(expect, dict) else None, ("then",)), (None, ("else",))]


ASK = ActionKind(
    name="ask",
    params=AskParams,
    run=run_ask,
    preview=preview_ask,
    summary="Ask a question and wait for the answer (as: NAME keeps it in state), then the rest of the rule.",
    example='{ask: "Your order number?", as: order, expect: number, wait: 10m, else: [{reply: "No answer"}]}',
    shorthand="text",
    siblings=("expect", "again", "tries", "wait", "expires", "scope", "then", "else"),
    holds=("expect", "then", "else"),
    sends=True,
    needs="chat",
    rehearse=_wait,
    next_actions=_waits,
    branches=ask_paths,
    capabilities=frozenset({Capability.QUESTIONS}),
)
