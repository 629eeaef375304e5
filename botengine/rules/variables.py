"""The variables templates and expressions see: built from an EventView in one function.

Only plain data (dicts, lists, strings, numbers, None): a template or expression can read an
event, never reach an object with methods. `check` validates names against VARIABLES, so the
names here and the names `check` knows cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botengine.events import EventView, Party

# Every variable name, with what it holds (shown by `check` hints and in docs/rules.md).
VARIABLES: dict[str, str] = {
    "text": "the message text or caption ('' when there is none)",
    "sender": "who sent it: {id, name, number, kind}",
    "chat": "the chat: {id, name, number, kind}",
    "me": "the account the session runs as: {id, name, number, kind}",
    "session": "the Wawp instance",
    "event": "the event type, e.g. message or message.reaction",
    "event_id": "the event id",
    "message_id": "the message id (None for events without one)",
    "from_me": "true for our own messages",
    "ack": "delivery level as a number (-1 error … 4 played)",
    "ack_name": "delivery level as a word: error, pending, sent, delivered, read, played",
    "emoji": "the reaction emoji ('' when none or removed)",
    "reaction": "{emoji, removed, message_id} for reactions, else None",
    "media": "{url, mimetype, filename} when the message has media, else None",
    "group": "{id, participants, action} for group events, else None",
    "participants": "the people a group event is about (a list of JIDs)",
    "participant": "the first of them (None when there is none)",
    "metadata": "the account owner's metadata key/values",
    "time": "when the event happened (ISO 8601, UTC)",
    "now": "when the rule is evaluated (ISO 8601, UTC)",
    "state": "this chat's state variables (set with set: or ask:), by name: state.order",
    "sender_state": "the sender's own state variables (set with scope: sender), by name",
}


# The fields of the variables that are records, so `check` can report `sender.nmae` (did you mean
# 'name'?) before the rule runs; `payload` and `metadata` hold whatever the event has.
_PARTY_FIELDS = ("id", "name", "number", "kind")
FIELDS: dict[str, tuple[str, ...]] = {
    "sender": _PARTY_FIELDS,
    "chat": _PARTY_FIELDS,
    "me": _PARTY_FIELDS,
    "reaction": ("emoji", "removed", "message_id"),
    "media": ("url", "mimetype", "filename"),
    "group": ("id", "participants", "action"),
}


def _party(party: Party | None) -> dict[str, Any]:
    # Always a dict, so `sender.name or 'there'` works when an event names no sender.
    if party is None:
        return {"id": "", "name": None, "number": "", "kind": "unknown"}
    return {"id": party.id, "name": party.name, "number": party.number, "kind": party.kind}


def variables_of(view: EventView, now: datetime | None = None) -> dict[str, Any]:
    """The variables for one event; `now` defaults to the current time."""
    now = now or datetime.now(UTC)
    reaction = view.reaction
    group = view.group
    media = view.media
    participants = list(group.participants) if group else []
    return {
        "text": view.text,
        "sender": _party(view.sender),
        "chat": _party(view.chat),
        "me": _party(view.me),
        "session": view.session,
        "event": view.type,
        "event_id": view.id,
        "message_id": view.message_id,
        "from_me": view.from_me,
        "ack": view.ack,
        "ack_name": view.ack_name,
        "emoji": reaction.emoji if reaction else "",
        "reaction": (
            {"emoji": reaction.emoji, "removed": reaction.removed, "message_id": reaction.message_id}
            if reaction
            else None
        ),
        "media": (
            {"url": media.url, "mimetype": media.mimetype, "filename": media.filename} if media else None
        ),
        "group": ({"id": group.id, "participants": participants, "action": group.action} if group else None),
        "participants": participants,
        "participant": view.participant,
        "metadata": {str(k): v for k, v in view.metadata.items() if isinstance(v, str | int | float | bool)},
        "time": view.time.isoformat(),
        "now": now.astimezone(UTC).isoformat(),
    }
