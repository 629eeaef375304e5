"""What every message an action sends has in common: where it goes, and what it quotes.

    - image: {file: menu.jpg, caption: "Today's menu"}                 # to the event's chat
    - poll: {to: "120363025912345678@g.us", question: "Which branch?", options: [North, South]}
    - file: {file: prices.pdf, quote: true}                              # as a reply to the event

A message goes to the chat of the event unless `to:` names another; `quote: true` sends it as a
reply to the message that triggered the rule (so only in that chat).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from botengine.actions.base import ActionContext, Params
from botengine.errors import PermanentError
from botengine.wawp import WawpClient


class Outgoing(Params):
    """Parameters of every kind that sends a message: `to` and `quote`."""

    to: str | None = Field(None, description="full JID of the chat to send to (default: the event's chat)")
    quote: bool = Field(False, description="send as a reply to the message that triggered the rule")

    @model_validator(mode="after")
    def _quote_in_its_chat(self) -> Outgoing:
        if self.quote and self.to is not None:
            raise ValueError("quote: only works in the event's own chat; leave out to: or quote:")
        return self


def wawp_of(ctx: ActionContext) -> WawpClient:
    """The Wawp client, or PermanentError when the engine has no credentials to call it with."""
    if ctx.services.wawp is None:
        raise PermanentError("no Wawp client is configured (set BOTENGINE_WAWP_TOKEN)")
    return ctx.services.wawp


def destination(params: Outgoing, ctx: ActionContext) -> tuple[str, str | None]:
    """(chat to send to, id of the message to quote or None), or PermanentError saying why not."""
    event = ctx.event
    chat = params.to or event.chat.id
    if not chat:
        raise PermanentError(f"event type {event.type!r} has no chat to send to: give to: a chat's JID")
    if "@" not in chat:
        raise PermanentError(f"'{chat}' is not a full JID (like 447441429009@c.us or …@g.us)")
    if params.quote and not event.message_id:
        raise PermanentError(f"event type {event.type!r} has no message to quote: leave out quote:")
    return chat, event.message_id if params.quote else None


def recipient(params: Params, ctx: ActionContext) -> str:
    """Who a sending action writes to: its `to:` when it has one, else the event's chat (the
    poster, for a Status post). Asked of every kind that sends (actions/consent.py)."""
    to = getattr(params, "to", None)
    return to if isinstance(to, str) and to else ctx.event.reply_chat


def shown_target(params: Outgoing, ctx: ActionContext) -> dict[str, object]:
    """The destination as a dry run shows it."""
    shown: dict[str, object] = {"to": params.to or ctx.event.chat.id}
    if params.quote:
        shown["quote"] = ctx.event.message_id
    return shown
