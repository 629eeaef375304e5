"""The variables templates and expressions see: built from an EventView in one function.

Only plain data (dicts, lists, strings, numbers, None): a template or expression can read an
event, never reach an object with methods. `check` validates names against VARIABLES, so the
names here and the names `check` knows cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from botengine.events import EventView, Group, Party

# Every variable name, with what it holds (shown by `check` hints, in docs/rules.md and, with an
# example each, in docs/reference.md).
VARIABLES: dict[str, str] = {
    "text": "the message text or caption; an edit's new text ('' when there is none)",
    "previous_text": "an edit's old text, or what a revoked message said (None when unknown)",
    "sender": "who did it: {id, name, number, kind, phone, lid}",
    "chat": "the chat: {id, name, number, kind, phone, lid}; name is a group's subject or a contact's name",
    "me": "the account the session runs as: {id, name, number, kind, phone, lid}",
    "session": "the Wawp instance",
    "event": "the event type, e.g. message or message.reaction",
    "event_id": "the event id",
    "message_id": "the id of the message the event is about (None for calls, presences, labels…)",
    "from_me": "true for our own messages",
    "ack": "delivery level as a number (-1 error … 4 played)",
    "ack_name": "delivery level as a word: error, pending, sent, delivered, read, played",
    "emoji": "the reaction emoji ('' when none or removed)",
    "reaction": "{emoji, removed, message_id} for reactions, else None",
    "media": "{url, mimetype, filename} when the message has media, else None",
    "quoted": "{id, sender, text} of the message a reply quotes, else None",
    "location": "{latitude, longitude, description, url} of a shared place, else None",
    "vcards": "the contact cards of a message, each as vCard text (a list)",
    "group": "{id, subject, description, action, participants, members, by} for group events, else None",
    "participants": "the people a group event is about (a list of JIDs)",
    "participant": "the first of them (None when there is none)",
    "poll": "{id, question, chosen} for poll votes, else None",
    "call": "{id, video, group} for calls, else None",
    "presence": "{state, last_seen} for presence updates, else None",
    "session_status": "STARTING, SCAN_QR_CODE, WORKING, FAILED, STOPPED for session.status, else None",
    "label": "{id, name, color} for label events, else None",
    "payload": "the event's raw payload, for what the names above leave out (read-only)",
    "metadata": "the account owner's metadata key/values",
    "time": "when the event happened (ISO 8601, UTC)",
    "now": "when the rule is evaluated (ISO 8601, UTC)",
    "messages": "the messages answered together after a quiet window (debounce:), oldest first: "
    "{id, event_id, text, time} each; just this one for a message answered at once",
    "message_ids": "the ids of those messages (a list)",
    "state": "this chat's state variables (set with set: or ask:), by name: state.order",
    "sender_state": "the sender's own state variables (set with scope: sender), by name",
    "subscribed": "false once the sender opted out (wrote STOP), else true; None when no sender",
    "lists": "whether the sender is on a list, by name: lists.vip (a list file, or one add_to keeps)",
}

# The fields of the variables that are records, so `check` can report `sender.nmae` (did you mean
# 'name'?) before the rule runs; `payload` and `metadata` hold whatever the event has.
_PARTY_FIELDS = ("id", "name", "number", "kind", "phone", "lid")
FIELDS: dict[str, tuple[str, ...]] = {
    "sender": _PARTY_FIELDS,
    "chat": _PARTY_FIELDS,
    "me": _PARTY_FIELDS,
    "reaction": ("emoji", "removed", "message_id"),
    "media": ("url", "mimetype", "filename"),
    "quoted": ("id", "sender", "text"),
    "location": ("latitude", "longitude", "description", "url"),
    "group": ("id", "subject", "description", "action", "participants", "members", "by"),
    "poll": ("id", "question", "chosen"),
    "call": ("id", "video", "group"),
    "presence": ("state", "last_seen"),
    "label": ("id", "name", "color"),
}


def _party(party: Party | None) -> dict[str, Any]:
    # Always a dict, so `sender.name or 'there'` works when an event names no sender.
    if party is None:
        return {"id": "", "name": None, "number": "", "kind": "unknown", "phone": None, "lid": None}
    return {
        "id": party.id,
        "name": party.name,
        "number": party.number,
        "kind": party.kind,
        "phone": party.phone,
        "lid": party.lid,
    }


def _record(value: Any) -> dict[str, Any] | None:
    """A view part (a frozen dataclass of plain values) as a dict; tuples become lists."""
    if value is None:
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(value).items()}


def _group(group: Group | None) -> dict[str, Any] | None:
    if group is None:
        return None
    return {
        "id": group.id,
        "subject": group.subject,
        "description": group.description,
        "action": group.action,
        "participants": list(group.participants),
        "members": [asdict(member) for member in group.members],
        "by": group.by,
    }


def _messages(view: EventView) -> list[dict[str, Any]]:
    """The burst a quiet window held, or the event's own message (none for other events)."""
    if view.burst:
        return [asdict(message) for message in view.burst]
    if view.message_id is None:
        return []
    return [{"id": view.message_id, "event_id": view.id, "text": view.text, "time": view.time.isoformat()}]


def variables_of(view: EventView, now: datetime | None = None) -> dict[str, Any]:
    """The variables for one event; `now` defaults to the current time."""
    now = now or datetime.now(UTC)
    reaction = view.reaction
    participants = list(view.group.participants) if view.group else []
    return {
        "text": view.text,
        "previous_text": view.previous_text,
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
        "reaction": _record(reaction),
        "media": _record(view.media),
        "quoted": _record(view.quoted),
        "location": _record(view.location),
        "vcards": list(view.vcards),
        "group": _group(view.group),
        "participants": participants,
        "participant": view.participant,
        "poll": _record(view.poll),
        "call": _record(view.call),
        "presence": _record(view.presence),
        "session_status": view.session_status,
        "label": _record(view.label),
        "payload": view.payload,
        "metadata": {str(k): v for k, v in view.metadata.items() if isinstance(v, str | int | float | bool)},
        "time": view.time.isoformat(),
        "messages": _messages(view),
        "message_ids": [m.id for m in view.burst]
        if view.burst
        else [view.message_id]
        if view.message_id
        else [],
        "now": now.astimezone(UTC).isoformat(),
    }
