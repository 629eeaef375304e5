"""Actions that write to WhatsApp through Wawp: reply, send, react."""

from __future__ import annotations

from pydantic import Field

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.actions.human import HumanTouch, before_sending, delay_field, shown, typing_field
from botengine.actions.outgoing import wawp_of
from botengine.durations import Duration
from botengine.errors import PermanentError
from botengine.types import JSONDict
from botengine.wawp import MAX_TEXT


def _check_length(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise PermanentError(
            f"the message is {len(text)} characters; WhatsApp accepts at most "
            f"{MAX_TEXT} — shorten the template"
        )


class ReplyParams(HumanTouch):
    text: str = Field(min_length=1, description="the message (a template)")
    quote: bool = Field(False, description="quote the message that triggered the rule")
    typing: Duration | None = typing_field()
    delay: str | None = delay_field()


async def run_reply(params: ReplyParams, ctx: ActionContext) -> JSONDict:
    _check_length(params.text)
    event = ctx.event
    if not event.reply_chat:
        raise PermanentError(f"event type {event.type!r} has no chat to reply to")
    reply_to = event.message_id if params.quote else None
    wawp = wawp_of(ctx)
    # a reply to a Status post goes to its poster, not to status@broadcast (see EventView.reply_chat)
    await before_sending(params, wawp, event.session, event.reply_chat)
    return await wawp.send_text(event.session, event.reply_chat, params.text, reply_to=reply_to)


def preview_reply(params: ReplyParams, ctx: ActionContext) -> JSONDict:
    return {"to": ctx.event.reply_chat, "text": params.text, "quote": params.quote, **shown(params)}


REPLY = ActionKind(
    name="reply",
    params=ReplyParams,
    run=run_reply,
    preview=preview_reply,
    summary=(
        "Send a text to the chat the event came from (to its poster, for a Status post), optionally "
        "quoting the message."
    ),
    example="reply: \"Hello {{ sender.name or 'there' }}! How can I help?\"",
    shorthand="text",
    sends=True,
    needs="chat",
)


class SendParams(HumanTouch):
    to: str = Field(min_length=1, description="full JID of the chat to write to (a template)")
    text: str = Field(min_length=1, description="the message (a template)")
    typing: Duration | None = typing_field()
    delay: str | None = delay_field()


async def run_send(params: SendParams, ctx: ActionContext) -> JSONDict:
    _check_length(params.text)
    if "@" not in params.to:
        raise PermanentError(f"'{params.to}' is not a full JID (like 447441429009@c.us or …@g.us)")
    wawp = wawp_of(ctx)
    await before_sending(params, wawp, ctx.event.session, params.to)
    return await wawp.send_text(ctx.event.session, params.to, params.text)


def preview_send(params: SendParams, ctx: ActionContext) -> JSONDict:
    return {"to": params.to, "text": params.text, **shown(params)}


SEND = ActionKind(
    name="send",
    params=SendParams,
    run=run_send,
    preview=preview_send,
    summary="Send a text to any chat: alert an admin, notify a team group.",
    example='send: {to: "120363025912345678@g.us", text: "New order from {{ sender.name }}"}',
    sends=True,
)


class ReactParams(Params):
    emoji: str = Field(min_length=1, description="the emoji to react with (a template)")


async def run_react(params: ReactParams, ctx: ActionContext) -> JSONDict:
    event = ctx.event
    if not event.message_id:
        raise PermanentError(f"event type {event.type!r} has no message to react to")
    return await wawp_of(ctx).react(event.session, event.chat.id, event.message_id, params.emoji)


def preview_react(params: ReactParams, ctx: ActionContext) -> JSONDict:
    return {"message": ctx.event.message_id, "emoji": params.emoji}


REACT = ActionKind(
    name="react",
    params=ReactParams,
    run=run_react,
    preview=preview_react,
    summary="React with an emoji to the message that triggered the rule.",
    example='react: "👍"',
    shorthand="emoji",
    sends=True,
    needs="message",
)
