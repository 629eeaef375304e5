"""The normalized view that rules see, made from an envelope (botengine/envelope.py).

Wawp (and the WAHA engine under it) sends every event in one envelope; the payload differs per
event type and per engine. The envelope is strict, the payload lenient (new event types and
fields arrive over time). `EventView` flattens the payload into the fields rules care about,
whatever shape it came in (the readers are in botengine/payloads.py and botengine/event_parts.py);
everything else stays reachable as `payload`.

Time units differ: the envelope `timestamp` is Unix milliseconds, `payload.timestamp` is seconds
(float seconds in reactions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botengine.envelope import Envelope
from botengine.envelope import EnvelopeProblem as EnvelopeProblem  # re-exported: older imports
from botengine.envelope import parse_envelope as parse_envelope
from botengine.event_parts import GROUP_ACTIONS as GROUP_ACTIONS
from botengine.event_parts import (
    Call,
    Group,
    Label,
    Location,
    Media,
    Member,
    Poll,
    Presence,
    Quoted,
    Reaction,
    vcards_of,
)
from botengine.event_types import EVENT_TYPES
from botengine.jid import JidKind, jid_kind, jid_user, phone_jid
from botengine.payloads import (
    aliases_of,
    chat_of,
    from_me_of,
    message_id_of,
    message_of,
    sender_name_of,
    sender_of,
    text,
    text_of,
)

ACK_NAMES: dict[int, str] = {-1: "error", 0: "pending", 1: "sent", 2: "delivered", 3: "read", 4: "played"}
# Every spelling of an ack level a rule or an engine may use, to its number.
ACK_LEVELS: dict[str, int] = {
    **{name: level for level, name in ACK_NAMES.items()},
    "server": 1,
    "device": 2,
}


@dataclass(frozen=True, slots=True)
class Party:
    """A chat or a person: the JID as the event gives it, its kind, a display name when the event
    has one, and both forms of a person when known: `phone` (`…@c.us`) and `lid` (`…@lid`)."""

    id: str
    kind: JidKind
    name: str | None = None
    phone: str | None = None
    lid: str | None = None

    @property
    def number(self) -> str:
        """The phone number (the part before the `@` of `phone`); for a chat that is no person,
        or a person known only by `@lid`, the part before the `@` of `id`."""
        return jid_user(self.phone or self.id)

    @property
    def forms(self) -> tuple[str, ...]:
        """Every JID this chat or person is known by, the event's own first (for matching)."""
        return tuple(dict.fromkeys(f for f in (self.id, self.phone, self.lid) if f))

    @property
    def shown(self) -> str:
        """`215…@lid (447…@c.us)`: the JID with its other form, for traces and reasons."""
        others = self.forms[1:]
        return f"{self.id} ({', '.join(others)})" if others else self.id


def party(jid: str, name: str | None, phones: Mapping[str, str]) -> Party:
    """A Party for `jid`, its other form taken from `phones` (lid → phone JID)."""
    phone = phone_jid(jid) or phones.get(jid)
    lid = jid if jid_kind(jid) == "lid" else next((lid for lid, p in phones.items() if p == phone), None)
    return Party(jid, jid_kind(jid), name, phone, lid)


@dataclass(frozen=True, slots=True)
class BurstMessage:
    """One message of a burst a quiet window held (`debounce:`, botengine/debounce.py)."""

    id: str | None  # the message id (what a reply quotes)
    event_id: str
    text: str
    time: str  # when it was sent, ISO 8601 UTC


@dataclass(frozen=True, slots=True)
class EventView:
    """The normalized event: the one shape every trigger, template and expression reads."""

    id: str
    type: str
    session: str
    engine: str | None
    timestamp_ms: int
    chat: Party
    sender: Party | None
    me: Party | None
    message_id: str | None  # a message's id only: the message the event is about
    text: str
    from_me: bool
    media: Media | None
    ack: int | None
    ack_name: str | None
    reaction: Reaction | None
    group: Group | None
    message_time: datetime | None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)
    previous_text: str | None = None  # an edit's old text, a revoked message's text
    quoted: Quoted | None = None
    location: Location | None = None
    vcards: tuple[str, ...] = ()
    poll: Poll | None = None
    call: Call | None = None
    presence: Presence | None = None
    session_status: str | None = None
    label: Label | None = None
    aliases: tuple[tuple[str, str], ...] = ()  # (lid, phone JID) pairs the event carries
    burst: tuple[BurstMessage, ...] = ()  # the messages a quiet window answers as one, oldest first

    @property
    def time(self) -> datetime:
        """When the event happened (from the envelope's milliseconds), in UTC."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)

    @property
    def participant(self) -> str | None:
        """The person a group event is about (the first one when several are)."""
        if self.group and self.group.participants:
            return self.group.participants[0]
        return None

    @property
    def reply_chat(self) -> str:
        """Where a reply goes: the chat, except that a reply to a Status post goes to its poster
        (writing to `status@broadcast` would post a Status of our own)."""
        if self.chat.kind == "status" and self.sender is not None:
            return self.sender.id
        return self.chat.id


def delivery_gap(received_at: float, timestamp_ms: int) -> float:
    """Seconds from an event's own time to its arrival: 0 for a time ahead of ours (a sender's
    clock running fast) and for one no float can hold (observers never raise on odd values)."""
    try:
        gap = received_at - timestamp_ms / 1000
    except OverflowError:
        return 0.0
    return gap if 0.0 < gap < float("inf") else 0.0


def chat_id_of(event_type: str, payload: Mapping[str, Any]) -> str:
    """The full JID of the chat an event belongs to ('' when the payload names none).

    Used at ingest (to keep one chat's events in order) and by the view, so both agree.
    """
    return chat_of(event_type, payload)


def _ack_of(message: Mapping[str, Any]) -> tuple[int | None, str | None]:
    ack = message.get("ack")
    if isinstance(ack, int) and not isinstance(ack, bool) and ack in ACK_NAMES:
        return ack, ACK_NAMES[ack]
    name = text(message.get("ackName"))
    if name and name.lower() in ACK_LEVELS:
        level = ACK_LEVELS[name.lower()]
        return level, ACK_NAMES[level]
    return None, None


def _seconds_to_time(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e11:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def view_of(envelope: Envelope) -> EventView:
    """Normalize an envelope into the view rules see. Never raises on odd payload shapes."""
    kind, payload = envelope.event, envelope.payload
    message = message_of(kind, payload)
    me_ids = {"id": envelope.me.id, "lid": envelope.me.lid} if envelope.me else {}
    phones = dict(aliases_of(payload, me_ids))
    me = party(envelope.me.id, envelope.me.pushName, phones) if envelope.me and envelope.me.id else None
    from_me = from_me_of(message)
    chat_id = chat_of(kind, payload)
    sender_id = sender_of(kind, payload, chat_id, from_me, me.id if me else None)
    sender = None
    if sender_id:
        name = me.name if from_me and me else sender_name_of(message)
        sender = party(sender_id, name, phones)
    group = Group.read(kind, payload, chat_id, me.id if me else None) if kind.startswith("group") else None
    text_now, previous = text_of(kind, payload)
    known = EVENT_TYPES.get(kind)
    ack, ack_name = _ack_of(message) if kind.startswith("message") else (None, None)
    return EventView(
        id=envelope.id,
        type=kind,
        session=envelope.session,
        engine=envelope.engine,
        timestamp_ms=envelope.timestamp,
        chat=party(chat_id, _chat_name(group, sender, chat_id, from_me), phones),
        sender=sender,
        me=me,
        message_id=message_id_of(kind, payload, known is not None and "message" in known.carries),
        text=text_now,
        previous_text=previous,
        from_me=from_me,
        media=Media.read(message),
        quoted=Quoted.read(message),
        location=Location.read(message),
        vcards=vcards_of(message),
        ack=ack,
        ack_name=ack_name,
        reaction=Reaction.read(payload) if kind == "message.reaction" else None,
        group=_with_phones(group, phones),
        poll=Poll.read(payload) if kind.startswith("poll.vote") else None,
        call=Call.read(payload) if kind.startswith("call.") else None,
        presence=Presence.read(payload) if kind == "presence.update" else None,
        session_status=text(payload.get("status")) if kind == "session.status" else None,
        label=Label.read(payload) if kind.startswith("label.") else None,
        message_time=_seconds_to_time(message.get("timestamp")),
        metadata=envelope.metadata or {},
        payload=payload,
        aliases=tuple(phones.items()),
    )


def _chat_name(group: Group | None, sender: Party | None, chat: str, from_me: bool) -> str | None:
    """A group's subject, or the contact's own name in a private chat with them."""
    if group is not None:
        return group.subject
    if sender is not None and sender.id == chat and not from_me:
        return sender.name
    return None


def _with_phones(group: Group | None, phones: Mapping[str, str]) -> Group | None:
    """The group with each member's other form filled from what the event says about them."""
    if group is None or not phones:
        return group
    members = []
    for member in group.members:
        other = party(member.id, None, phones)
        members.append(Member(member.id, member.role, member.phone or other.phone, member.lid or other.lid))
    return Group(group.id, group.action, tuple(members), group.by, group.subject, group.description)


__all__ = [
    "ACK_LEVELS",
    "ACK_NAMES",
    "Call",
    "EventView",
    "Group",
    "Label",
    "Location",
    "Media",
    "Member",
    "Party",
    "Poll",
    "Presence",
    "Quoted",
    "Reaction",
    "chat_id_of",
    "delivery_gap",
    "view_of",
]
