"""`handover` and `resume`: hand a chat to a person, and give it back to the bot.

    - handover:
        for: 12h                              # default 12h; the bot is quiet in the chat meanwhile
        why: "asked for a person"
        notify:                               # optional: a message to your team, once per handover
          to: "120363025912345678@g.us"
          text: "{{ sender.name }} wants a person: wa.me/{{ sender.number }}"
    - resume: {}                              # this chat answers to the rules again

While a chat is with a person, the rules that would write to it do not run there, unless they say
`handover: true` or `handover: any` (rules/triggers/handover.py says which run). The record is in the store
(botengine/handover.py), so a restart keeps it; it ends by itself after `for:`.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from pydantic import Field, field_validator

from botengine.actions.base import ActionContext, ActionKind, Capability, Params
from botengine.actions.messaging import SendParams, run_send
from botengine.durations import Duration, format_duration
from botengine.errors import PermanentError
from botengine.handover import DEFAULT_FOR, MAX_FOR, Handover, Handovers, chat_of, forms_of
from botengine.jid import phone_jid
from botengine.types import JSONDict

log = logging.getLogger("botengine.actions")


class HandoverParams(Params):
    for_: Duration = Field(DEFAULT_FOR, alias="for", description="how long the bot stays quiet, e.g. 12h")
    why: str = Field("", description="shown in the dashboard (a template)")
    chat: str | None = Field(None, description="full JID of the chat (default: the event's chat)")
    notify: SendParams | None = Field(
        None,
        description="a message to your team, as `send` takes it, when the chat is handed over "
        "(not again while it is)",
    )

    @field_validator("for_")
    @classmethod
    def _bounded(cls, value: float) -> float:
        if not 0 < value <= MAX_FOR:
            raise ValueError("for: must be more than 0 and at most 90d")
        return value


class ResumeParams(Params):
    chat: str | None = Field(None, description="full JID of the chat (default: the event's chat)")


WHY_KEPT = 200  # characters of `why:` kept (it may be rendered from what a customer wrote)


def _chat(given: str | None, ctx: ActionContext) -> str:
    """The chat as handovers are keyed (handover.chat_of): the event's chat written in any of its
    forms (`{{ chat.id }}` of an @lid chat) is the event's chat; a phone in `@c.us` spelling."""
    chat = (given or "").strip()
    if not chat or chat in ctx.event.chat.forms:
        chat = chat_of(ctx.event.chat)
    chat = phone_jid(chat) or chat
    if any(ord(c) < 32 or c.isspace() for c in chat):
        raise PermanentError(f"{chat!r} is not a chat: a JID has no spaces or control characters")
    if not chat or "@" not in chat:
        raise PermanentError(
            f"'{chat}' is not a chat to hand over: give chat: a full JID (like 447441429009@c.us)"
            if chat
            else f"event type {ctx.event.type!r} has no chat: give chat: a full JID"
        )
    return chat


def _shown(record: Handover, started: bool) -> JSONDict:
    return {
        "chat": record.chat,
        "since": datetime.fromtimestamp(record.since, UTC).isoformat(),
        "until": datetime.fromtimestamp(record.until, UTC).isoformat(),
        "why": record.why,
        "started": started,
    }


async def _start(
    params: HandoverParams, ctx: ActionContext, now: float | None = None
) -> tuple[Handover, bool]:
    event = ctx.event
    why = params.why[:WHY_KEPT]
    return await Handovers(ctx.services.storage).start(
        event.session, _chat(params.chat, ctx), params.for_, why=why, by=ctx.rule, event_id=event.id, now=now
    )


def _test_clock(ctx: ActionContext) -> float | None:
    """The run's `now` (an inline test's clock, which `wait:` moves on)."""
    written = ctx.plan.variables.get("now") if ctx.plan is not None else None
    try:
        return datetime.fromisoformat(written).timestamp() if isinstance(written, str) else None
    except ValueError:
        return None


async def rehearse_handover(params: HandoverParams, ctx: ActionContext) -> JSONDict:
    """Inline tests' steps: the handover on their scratch store, at their clock; no notification."""
    record, started = await _start(params, ctx, _test_clock(ctx))
    return _shown(record, started)


async def run_handover(params: HandoverParams, ctx: ActionContext) -> JSONDict:
    event = ctx.event
    record, started = await _start(params, ctx)
    # a retry of this action (the notification failed) finds the handover it started itself
    started = started or record.event_id == event.id
    result = _shown(record, started)
    fields = {"rule": ctx.rule, "event_id": event.id, "chat": record.chat, "until": result["until"]}
    log.info("chat with a person" if started else "chat with a person for longer", extra={"fields": fields})
    if params.notify is not None and started:
        result["notified"] = await run_send(params.notify, ctx)
    return result


def preview_handover(params: HandoverParams, ctx: ActionContext) -> JSONDict:
    shown: JSONDict = {"chat": _chat(params.chat, ctx), "for": format_duration(params.for_)}
    if params.why:
        shown["why"] = params.why
    if params.notify is not None:
        shown["notify"] = {
            "to": params.notify.to,
            "text": params.notify.text,
            "when": "only if the chat is not with a person already",
        }
    return shown


def dry_handover(params: HandoverParams, ctx: ActionContext) -> JSONDict:
    now = time.time()
    record = Handover(
        session=ctx.event.session,
        chat=_chat(params.chat, ctx),
        since=now,
        until=now + params.for_,
        why=params.why,
    )
    return _shown(record, True)


async def run_resume(params: ResumeParams, ctx: ActionContext) -> JSONDict:
    chat = _chat(params.chat, ctx)
    # the event's chat: under each form it may have been handed over in (handover.forms_of)
    chats = forms_of(ctx.event.chat) if chat == chat_of(ctx.event.chat) else (chat,)
    handovers = Handovers(ctx.services.storage)
    ended = any([await handovers.end(ctx.event.session, one) for one in chats])
    if ended:
        log.info("chat back with the bot", extra={"fields": {"rule": ctx.rule, "chat": chat}})
    return {"chat": chat, "resumed": ended}


def preview_resume(params: ResumeParams, ctx: ActionContext) -> JSONDict:
    return {"chat": _chat(params.chat, ctx), "then": "the rules answer in this chat again"}


HANDOVER = ActionKind(
    name="handover",
    params=HandoverParams,
    run=run_handover,
    preview=preview_handover,
    summary=(
        "Hand the chat to a person: the bot stays quiet there for `for:` (default 12h) or until "
        "`resume`; optionally tell your team."
    ),
    example='handover: {for: 12h, why: "asked for a person"}',
    shorthand="for",
    result_var="handover",
    dry_result=dry_handover,
    rehearse=rehearse_handover,  # inline tests' steps: the next step finds the chat with a person
    needs="chat",
    needs_unless="chat",
    capabilities=frozenset({Capability.HANDOVER}),
)

RESUME = ActionKind(
    name="resume",
    params=ResumeParams,
    run=run_resume,
    preview=preview_resume,
    summary="Give a chat that is with a person back to the bot (default: the event's chat).",
    example="resume: {}",
    shorthand="chat",
    needs="chat",
    needs_unless="chat",
    capabilities=frozenset({Capability.HANDOVER}),
    rehearse=run_resume,  # only the store: inline tests' steps
)
