"""The normalized view that rules see, made from an envelope (botengine/envelope.py).

Wawp (and the WAHA engine under it) sends every event in one envelope; the payload differs per
event type and per engine. The envelope is strict, the payload lenient (new event types and
fields arrive over time). `EventView` flattens the payload into the few fields rules care about,
whatever shape it came in.

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
from botengine.jid import JidKind, jid_kind, jid_user, parse_message_id

ACK_NAMES: dict[int, str] = {-1: "error", 0: "pending", 1: "sent", 2: "delivered", 3: "read", 4: "played"}
# Every spelling of an ack level a rule or an engine may use, to its number.
ACK_LEVELS: dict[str, int] = {
    **{name: level for level, name in ACK_NAMES.items()},
    "server": 1,
    "device": 2,
}

GROUP_ACTIONS = ("join", "leave", "promote", "demote")
_GROUP_ACTION_ALIASES = {"add": "join", "invite": "join", "remove": "leave", "left": "leave"}


@dataclass(frozen=True, slots=True)
class Party:
    """A chat or a person: the full JID, its kind, and a display name when the event has one."""

    id: str
    kind: JidKind
    name: str | None = None

    @property
    def number(self) -> str:
        """The part of the JID before the `@` (the phone number for a contact)."""
        return jid_user(self.id)


@dataclass(frozen=True, slots=True)
class Media:
    url: str | None
    mimetype: str | None
    filename: str | None


@dataclass(frozen=True, slots=True)
class Reaction:
    """A reaction: `emoji` is '' and `removed` True when the person took their reaction back."""

    emoji: str
    removed: bool
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Group:
    """A group event: who joined/left/was promoted/demoted, and by whom."""

    id: str
    participants: tuple[str, ...]
    action: str | None


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
    message_id: str | None
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


def delivery_gap(received_at: float, timestamp_ms: int) -> float:
    """Seconds from an event's own time to its arrival: 0 for a time ahead of ours (a sender's
    clock running fast) and for one no float can hold (observers never raise on odd values)."""
    try:
        gap = received_at - timestamp_ms / 1000
    except OverflowError:
        return 0.0
    return gap if 0.0 < gap < float("inf") else 0.0


# --- reading untrusted payloads ------------------------------------------------------------------


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _message_of(event_type: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message object inside a payload: revocations carry it in `after` (or `before`)."""
    if event_type == "message.revoked":
        return _dict(payload.get("after")) or _dict(payload.get("before"))
    return payload


def chat_id_of(event_type: str, payload: Mapping[str, Any]) -> str:
    """The full JID of the chat an event belongs to ('' when the payload names none).

    Used at ingest (to keep one chat's events in order) and by the view, so both agree.
    """
    group = _dict(payload.get("group"))
    if group_id := _str(group.get("id")):
        return group_id
    message = _message_of(event_type, payload)
    if parsed := parse_message_id(message.get("id")):
        return parsed.chat
    sender = _str(message.get("from"))
    recipient = _str(message.get("to"))
    if message.get("fromMe") is True and recipient:
        return recipient  # our own message: the chat is the person we wrote to
    if sender:
        return sender
    for key in ("chatId", "id"):  # presence.update names the chat `id`; WAHA's group.join `chatId`
        if (value := _str(message.get(key))) and "@" in value:
            return value
    return ""


def _sender_of(
    event_type: str, payload: Mapping[str, Any], chat: str, from_me: bool, me: Party | None
) -> str | None:
    message = _message_of(event_type, payload)
    if from_me and me:
        return me.id
    for key in ("participant", "author", "senderId"):
        if value := _str(message.get(key)):
            return value
    if presences := payload.get("presences"):
        first = presences[0] if isinstance(presences, list) and presences else None
        if value := _str(_dict(first).get("participant")):
            return value
    if jid_kind(chat) in ("contact", "lid"):
        return chat
    return _str(message.get("from"))


def _sender_name(message: Mapping[str, Any], from_me: bool, me: Party | None) -> str | None:
    if from_me and me:
        return me.name
    raw = _dict(message.get("_data"))
    return _str(raw.get("notifyName")) or _str(message.get("notifyName")) or _str(message.get("pushName"))


def _text_of(message: Mapping[str, Any]) -> str:
    raw = _dict(message.get("_data"))
    for value in (message.get("body"), message.get("caption"), raw.get("caption")):
        if isinstance(value, str) and value:
            return value
    return ""


def _media_of(message: Mapping[str, Any]) -> Media | None:
    media = _dict(message.get("media"))
    if message.get("hasMedia") is not True and not media:
        return None
    return Media(_str(media.get("url")), _str(media.get("mimetype")), _str(media.get("filename")))


def _ack_of(message: Mapping[str, Any]) -> tuple[int | None, str | None]:
    ack = message.get("ack")
    if isinstance(ack, int) and not isinstance(ack, bool) and ack in ACK_NAMES:
        return ack, ACK_NAMES[ack]
    name = _str(message.get("ackName"))
    if name and name.lower() in ACK_LEVELS:
        level = ACK_LEVELS[name.lower()]
        return level, ACK_NAMES[level]
    return None, None


def _reaction_of(payload: Mapping[str, Any]) -> Reaction | None:
    """Both shapes: WAHA's `reaction: {text, messageId}` and Wawp's plain `reaction` string."""
    reaction = payload.get("reaction")
    if isinstance(reaction, Mapping):
        emoji = reaction.get("text")
        target = _str(reaction.get("messageId"))
    elif isinstance(reaction, str):
        emoji, target = reaction, _str(payload.get("messageId"))
    else:
        return None
    emoji = emoji if isinstance(emoji, str) else ""
    return Reaction(emoji=emoji, removed=emoji == "", message_id=target)


def _group_of(payload: Mapping[str, Any], chat: str) -> Group | None:
    group = _dict(payload.get("group"))
    group_id = _str(group.get("id")) or (chat if jid_kind(chat) == "group" else None)
    raw_participants = payload.get("participants", payload.get("recipientIds"))
    if not group_id or (raw_participants is None and "type" not in payload):
        return None
    participants: list[str] = []
    for entry in raw_participants if isinstance(raw_participants, list) else []:
        jid = _str(entry) or _str(_dict(entry).get("id"))
        if jid:
            participants.append(jid)
    action = _str(payload.get("type"))
    if action:
        action = _GROUP_ACTION_ALIASES.get(action.lower(), action.lower())
    return Group(id=group_id, participants=tuple(participants), action=action)


def _seconds_to_time(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e11:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def view_of(envelope: Envelope) -> EventView:
    """Normalize an envelope into the view rules see. Never raises on odd payload shapes."""
    payload = envelope.payload
    message = _message_of(envelope.event, payload)
    me = None
    if envelope.me and envelope.me.id:
        me = Party(envelope.me.id, jid_kind(envelope.me.id), envelope.me.pushName)
    from_me = message.get("fromMe") is True
    chat_id = chat_id_of(envelope.event, payload)
    sender_id = _sender_of(envelope.event, payload, chat_id, from_me, me)
    sender = None
    if sender_id:
        sender = Party(sender_id, jid_kind(sender_id), _sender_name(message, from_me, me))
    ack, ack_name = _ack_of(message) if envelope.event.startswith("message") else (None, None)
    group = _group_of(payload, chat_id) if envelope.event.startswith("group") else None
    return EventView(
        id=envelope.id,
        type=envelope.event,
        session=envelope.session,
        engine=envelope.engine,
        timestamp_ms=envelope.timestamp,
        chat=Party(chat_id, jid_kind(chat_id)),
        sender=sender,
        me=me,
        message_id=_str(message.get("id")) if not group else None,
        text=_text_of(message),
        from_me=from_me,
        media=_media_of(message),
        ack=ack,
        ack_name=ack_name,
        reaction=_reaction_of(payload) if envelope.event == "message.reaction" else None,
        group=group,
        message_time=_seconds_to_time(message.get("timestamp")),
        metadata=envelope.metadata or {},
        payload=payload,
    )
