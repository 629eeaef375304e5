"""Consent: `opt_out` / `opt_in`, and the check every sending action passes before it writes.

    - name: stop
      if: {equals: [stop, unsubscribe]}
      do:
        - opt_out: sender
        - reply: "Done: no more messages from us. Write START to come back."

    a send to a person ─► opted out? ─► no: pacing, then the send
                                      └► yes: skipped ("opted out"), counted, not retried, not a
                                         dead letter; unless it confirms this very opt-out

The executor asks `refusal` of every kind with `sends=True`, after rendering and before the
send budget, so a new kind that sends is covered without a line of its own. Who it writes to
(`outgoing.recipient`): its `to:` when it has one, else the event's chat (the poster, for a
Status). Only a person is checked: a message in a group goes to the group, not to the person
who opted out (they can leave it).

The confirmation: a send to the person that runs after `opt_out` in the same rule run (the
reply of the rule that handled STOP, a reaction) still goes. The actions of a `later` in that
rule run another time and are not the confirmation: they are skipped like any other send.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.actions.outgoing import recipient
from botengine.errors import PermanentError, RetryableError, StorageError
from botengine.optouts import StoreOptOuts, canonical, is_person
from botengine.types import JSONDict

CONFIRMS = "opt_out"  # the result variable of opt_out: what a confirmation is recognised by


class OptedOut(Exception):
    """A send to a person who opted out: skipped, which is an outcome, not a failure."""

    def __init__(self, person: str) -> None:
        super().__init__(f"opted out: {person} wrote STOP (or opt_out ran for them)")
        self.person = person


def confirms(ctx: ActionContext, person: str) -> bool:
    """True when an `opt_out` of `person` ran earlier in this rule run (the send confirms it)."""
    done = ctx.results.get(CONFIRMS)
    return isinstance(done, dict) and canonical(person) in (done.get("forms") or ())


async def refusal(kind: ActionKind[Any], params: Any, ctx: ActionContext) -> None:
    """Raise OptedOut when the action would write to a person who opted out."""
    if not kind.sends:
        return
    person = recipient(params, ctx)
    if not is_person(person) or confirms(ctx, person):
        return
    try:
        out = await StoreOptOuts(ctx.services.storage).has_any(ctx.event.session, forms_of(person, ctx))
    except StorageError as exc:  # unknown is not "subscribed": try again rather than send
        raise RetryableError(f"the store failed: {exc}") from exc
    if out:
        raise OptedOut(person)


def forms_of(person: str, ctx: ActionContext) -> tuple[str, ...]:
    """Every JID the event knows `person` by when they are its chat or sender, else `person`."""
    for party in (ctx.event.chat, ctx.event.sender):
        if party is not None and person in party.forms:
            return party.forms
    return (person,)


class OptOutParams(Params):
    who: Literal["sender"] = Field("sender", description="who opts out: the sender of the event")


def _sender_forms(ctx: ActionContext) -> tuple[str, tuple[str, ...]]:
    sender = ctx.event.sender
    if sender is None or not sender.id:
        raise PermanentError(f"event type {ctx.event.type!r} names no sender to opt out")
    return sender.id, sender.forms


async def run_opt_out(params: OptOutParams, ctx: ActionContext) -> JSONDict:
    who, forms = _sender_forms(ctx)
    added = await StoreOptOuts(ctx.services.storage).add_person(ctx.event.session, forms, ctx.rule)
    return {"opted_out": who, "forms": [canonical(f) for f in forms], "new": added}


async def run_opt_in(params: OptOutParams, ctx: ActionContext) -> JSONDict:
    who, forms = _sender_forms(ctx)
    removed = await StoreOptOuts(ctx.services.storage).remove_person(ctx.event.session, forms)
    return {"opted_in": who, "was_out": removed}


def preview_opt(params: OptOutParams, ctx: ActionContext) -> JSONDict:
    return {"who": ctx.event.sender.id if ctx.event.sender else None, "session": ctx.event.session}


def _dry_opt_out(params: OptOutParams, ctx: ActionContext) -> JSONDict:
    forms = ctx.event.sender.forms if ctx.event.sender else ()
    return {"opted_out": forms[0] if forms else None, "forms": [canonical(f) for f in forms], "new": True}


OPT_OUT = ActionKind(
    name="opt_out",
    params=OptOutParams,
    run=run_opt_out,
    preview=preview_opt,
    summary=(
        "Stop every message to the sender (they wrote STOP): replies, sends, follow-ups, broadcasts. "
        "Kept per session, across restarts; the rest of this rule may still confirm it."
    ),
    example="opt_out: sender",
    shorthand="who",
    needs="sender",
    result_var=CONFIRMS,
    dry_result=_dry_opt_out,
    rehearse=run_opt_out,  # on a scratch store (inline tests' steps) the next step sees it
)
OPT_IN = ActionKind(
    name="opt_in",
    params=OptOutParams,
    run=run_opt_in,
    preview=preview_opt,
    summary="Let messages reach the sender again (they wrote START).",
    example="opt_in: sender",
    shorthand="who",
    needs="sender",
    result_var="opt_in",
    rehearse=run_opt_in,
)
