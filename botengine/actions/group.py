"""Group moderation: remove participants from a group (the instance must be a group admin)."""

from __future__ import annotations

from pydantic import Field

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.actions.outgoing import wawp_of
from botengine.errors import PermanentError
from botengine.jid import jid_kind
from botengine.types import JSONDict


class RemoveParams(Params):
    participants: list[str] | str | None = Field(
        None, description="full JIDs to remove (templates); default: the people the event is about"
    )
    group: str | None = Field(None, description="the group JID; default: the event's group")


def _targets(params: RemoveParams, ctx: ActionContext) -> tuple[str, list[str]]:
    """The group and the people to remove, or PermanentError saying why there are none."""
    event = ctx.event
    group = params.group or (event.group.id if event.group else event.chat.id)
    if jid_kind(group) != "group":
        raise PermanentError(
            f"remove only works in groups, and this event's chat {group or '(none)'!r} is a "
            f"{jid_kind(group)} chat: add `chat: group` to the rule's if:"
        )
    if params.participants is None:
        # the participants the rule matched (its participant trigger narrows them), else all
        chosen = ctx.plan.variables.get("participants") if ctx.plan else None
        people = list(chosen) if isinstance(chosen, list) else []
        if not people and event.group:
            people = list(event.group.participants)
        if not people and event.sender and not event.from_me:
            people = [event.sender.id]
    elif isinstance(params.participants, str):
        people = [p.strip() for p in params.participants.split(",") if p.strip()]
    else:
        people = [p for p in params.participants if p]
    if not people:
        raise PermanentError("remove: nobody to remove (the event names no participant)")
    if bad := [p for p in people if "@" not in p]:
        raise PermanentError(f"remove: {', '.join(bad)} is not a full JID (like 447441429009@c.us)")
    return group, people


async def run_remove(params: RemoveParams, ctx: ActionContext) -> JSONDict:
    group, people = _targets(params, ctx)
    answer = await wawp_of(ctx).remove_participants(ctx.event.session, group, people)
    return {"group": group, "removed": people, "answer": answer}


def preview_remove(params: RemoveParams, ctx: ActionContext) -> JSONDict:
    group, people = _targets(params, ctx)
    return {"group": group, "remove": people}


REMOVE = ActionKind(
    name="remove",
    params=RemoveParams,
    run=run_remove,
    preview=preview_remove,
    summary="Remove people from a group: by default the participant(s) the event is about.",
    example="remove: {}",
    shorthand="participants",
    needs="chat",  # a group chat, or the group of a group event…
    needs_unless="group",  # …or the group it names
)
