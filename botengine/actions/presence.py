"""Signals that are not messages: read receipts (`mark_read`) and the typing indicator (`typing`).

    - mark_read: message        # blue ticks on the message that triggered the rule
    - typing: 2s                # "typing…" for two seconds, then the next action (a reply)
    - reply: "Let me check that for you."

Neither is a message, so neither counts against the number's send rate.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.actions.human import MAX_TYPING, show_typing
from botengine.actions.outgoing import wawp_of
from botengine.durations import Duration, format_duration
from botengine.errors import PermanentError
from botengine.types import JSONDict


def _chat_of(ctx: ActionContext, what: str) -> str:
    if not ctx.event.chat.id:
        raise PermanentError(f"event type {ctx.event.type!r} has no chat to {what} in")
    return ctx.event.chat.id


class MarkReadParams(Params):
    what: Literal["message", "chat"] = Field(
        "message", description="message: the one that triggered the rule; chat: everything in its chat"
    )


async def run_mark_read(params: MarkReadParams, ctx: ActionContext) -> JSONDict:
    event = ctx.event
    chat = _chat_of(ctx, "mark as read")
    if params.what == "chat":
        return await wawp_of(ctx).mark_seen(event.session, chat, [])
    if not event.message_id:
        raise PermanentError(f"event type {event.type!r} has no message to mark as read")
    # a group message is marked read by naming its sender too (Wawp's `participant`)
    participant = event.sender.id if event.chat.kind == "group" and event.sender else None
    return await wawp_of(ctx).mark_seen(event.session, chat, [event.message_id], participant=participant)


def preview_mark_read(params: MarkReadParams, ctx: ActionContext) -> JSONDict:
    shown: JSONDict = {"chat": ctx.event.chat.id}
    if params.what == "message":
        shown["message"] = ctx.event.message_id
    return shown


MARK_READ = ActionKind(
    name="mark_read",
    params=MarkReadParams,
    run=run_mark_read,
    preview=preview_mark_read,
    summary="Mark the message (or its whole chat) as read: blue ticks for the sender.",
    example="mark_read: message",
    shorthand="what",
)


class TypingParams(Params):
    for_: Duration = Field(alias="for", description="how long to show typing…, e.g. 2s (at most 30s)")

    @field_validator("for_")
    @classmethod
    def _bounded(cls, value: float) -> float:
        if not 0 < value <= MAX_TYPING:
            raise ValueError(f"must be more than 0 and at most {format_duration(MAX_TYPING)}")
        return value


async def run_typing(params: TypingParams, ctx: ActionContext) -> JSONDict:
    chat = _chat_of(ctx, "show typing")
    await show_typing(wawp_of(ctx), ctx.event.session, chat, params.for_)
    return {"typed": params.for_}


def preview_typing(params: TypingParams, ctx: ActionContext) -> JSONDict:
    return {"chat": ctx.event.chat.id, "for": format_duration(params.for_)}


TYPING = ActionKind(
    name="typing",
    params=TypingParams,
    run=run_typing,
    preview=preview_typing,
    summary="Show typing… in the chat for a moment (before a reply, so the bot feels less abrupt).",
    example="typing: 2s",
    shorthand="for",
    timeout=MAX_TYPING + 15.0,
)
