"""The parts of an event that only some types carry, each with its reader.

    Media     a message's file              Quoted    the message a reply quotes
    Location  a shared place                Reaction  an emoji put on (or taken off) a message
    Group     a group change, who, by whom  Poll      a vote: the options chosen
    Call      a call: video or not          Presence  online, typing, recording…
    Label     a WhatsApp Business label

Every reader takes the payload as sent (any engine's shape, see botengine/payloads.py) and returns
None when the event does not have the part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botengine.jid import jid_kind, phone_jid
from botengine.payloads import as_list, by_of, flag, jid_of, mapping, number, participants_of, text

GROUP_ACTIONS = ("join", "leave", "promote", "demote", "update")
_GROUP_ACTION_ALIASES = {
    "add": "join",
    "invite": "join",
    "linked_group_join": "join",
    "remove": "leave",
    "left": "leave",
    "leaver": "leave",
}
# What a group event is, when its payload does not say.
_GROUP_EVENT_ACTIONS = {
    "group.join": "join",
    "group.v2.join": "join",
    "group.leave": "leave",
    "group.v2.leave": "leave",
    "group.v2.update": "update",
}
# Presence words of the engines, as the few a rule compares with.
_PRESENCE_STATES = {"composing": "typing", "available": "online", "unavailable": "offline"}


@dataclass(frozen=True, slots=True)
class Media:
    url: str | None
    mimetype: str | None  # as sent, parameters included (`audio/ogg; codecs=opus`)
    filename: str | None

    @classmethod
    def read(cls, message: Mapping[str, Any]) -> Media | None:
        media = mapping(message.get("media"))
        if message.get("hasMedia") is not True and not media:
            return None
        return cls(text(media.get("url")), text(media.get("mimetype")), text(media.get("filename")))


@dataclass(frozen=True, slots=True)
class Quoted:
    """The message a reply quotes: its id, its author, its text."""

    id: str | None
    sender: str | None
    text: str

    @classmethod
    def read(cls, message: Mapping[str, Any]) -> Quoted | None:
        quoted = mapping(message.get("replyTo"))
        if not quoted:
            return None
        body = quoted.get("body")
        return cls(
            text(quoted.get("id")), jid_of(quoted.get("participant")), body if isinstance(body, str) else ""
        )


@dataclass(frozen=True, slots=True)
class Location:
    """A shared place: numbers, also when the engine sends them as text ("51.5074")."""

    latitude: float | None
    longitude: float | None
    description: str | None
    url: str | None

    @classmethod
    def read(cls, message: Mapping[str, Any]) -> Location | None:
        place = mapping(message.get("location"))
        if not place:
            return None
        name = text(place.get("description")) or text(place.get("name")) or text(place.get("address"))
        return cls(
            number(place.get("latitude")), number(place.get("longitude")), name, text(place.get("url"))
        )


def vcards_of(message: Mapping[str, Any]) -> tuple[str, ...]:
    """The contact cards of a message, each as its vCard text."""
    return tuple(card for card in as_list(message.get("vCards")) if isinstance(card, str) and card)


@dataclass(frozen=True, slots=True)
class Reaction:
    """A reaction: `emoji` is '' and `removed` True when the person took their reaction back."""

    emoji: str
    removed: bool
    message_id: str | None

    @classmethod
    def read(cls, payload: Mapping[str, Any]) -> Reaction | None:
        """Both shapes: WAHA's `reaction: {text, messageId}` and Wawp's plain `reaction` string."""
        reaction = payload.get("reaction")
        if isinstance(reaction, Mapping):
            emoji, target = reaction.get("text"), text(reaction.get("messageId"))
        elif isinstance(reaction, str):
            emoji, target = reaction, text(payload.get("messageId"))
        else:
            return None
        emoji = emoji if isinstance(emoji, str) else ""
        return cls(emoji=emoji, removed=emoji == "", message_id=target)


@dataclass(frozen=True, slots=True)
class Member:
    """A person a group event is about: their JID as sent, their role, their other form."""

    id: str
    role: str | None
    phone: str | None  # the @c.us form, when the event (or an earlier one) tells it
    lid: str | None  # the @lid form, likewise


@dataclass(frozen=True, slots=True)
class Group:
    """A group event: which group, what happened, to whom, and by whom."""

    id: str
    action: str | None  # join, leave, promote, demote, update (or what the engine said)
    members: tuple[Member, ...]
    by: str | None = None
    subject: str | None = None
    description: str | None = None

    @property
    def participants(self) -> tuple[str, ...]:
        return tuple(member.id for member in self.members)

    @classmethod
    def read(cls, event_type: str, payload: Mapping[str, Any], chat: str, me: str | None) -> Group | None:
        group = mapping(payload.get("group"))
        group_id = text(group.get("id")) or (chat if jid_kind(chat) == "group" else None)
        if not group_id:
            return None
        action = text(payload.get("type")) or text(payload.get("action"))
        action = action.lower() if action else _GROUP_EVENT_ACTIONS.get(event_type)
        entries = participants_of(payload)
        if not entries and event_type in ("group.v2.join", "group.v2.leave") and me:
            # we joined or left: the event is about us (and the group's member list tells our role)
            roster = [e for e in as_list(group.get("participants")) if jid_of(e) == me]
            entries = roster or [me]
        subject = text(group.get("subject")) or text(payload.get("subject"))
        description = text(group.get("description")) or text(payload.get("description"))
        return cls(
            id=group_id,
            action=_GROUP_ACTION_ALIASES.get(action, action) if action else None,
            members=tuple(m for m in (_member(e) for e in entries) if m is not None),
            by=by_of(payload),
            subject=subject,
            description=description,
        )


def _member(entry: object) -> Member | None:
    jid = jid_of(entry)
    if jid is None:
        return None
    found = mapping(entry)
    other = jid_of(found.get("pn")) or jid_of(found.get("phoneNumber")) or jid_of(found.get("lid"))
    phone = phone_jid(jid) or (phone_jid(other) if other else None)
    lid = jid if jid_kind(jid) == "lid" else (other if other and jid_kind(other) == "lid" else None)
    return Member(jid, text(found.get("role")), phone, lid)


@dataclass(frozen=True, slots=True)
class Poll:
    """A vote: the poll (its message id and question, when sent) and the options chosen."""

    id: str | None
    question: str | None
    chosen: tuple[str, ...]

    @classmethod
    def read(cls, payload: Mapping[str, Any]) -> Poll | None:
        vote, poll = mapping(payload.get("vote")), mapping(payload.get("poll"))
        if not vote and not poll:
            return None
        chosen = []
        for option in as_list(vote.get("selectedOptions")):
            name = option if isinstance(option, str) else mapping(option).get("name")
            if isinstance(name, str):
                chosen.append(name)
        question = next(
            (text(poll.get(k)) for k in ("name", "question", "pollName") if text(poll.get(k))), None
        )
        return cls(text(poll.get("id")), question, tuple(chosen))


@dataclass(frozen=True, slots=True)
class Call:
    """A call: its id (to reject it), video or voice, one person or a group."""

    id: str | None
    video: bool | None
    group: bool | None

    @classmethod
    def read(cls, payload: Mapping[str, Any]) -> Call:
        return cls(text(payload.get("id")), flag(payload.get("isVideo")), flag(payload.get("isGroup")))


@dataclass(frozen=True, slots=True)
class Presence:
    """online, offline, typing, recording or paused (Wawp's `composing` reads as typing)."""

    state: str | None
    last_seen: float | None  # Unix seconds, when the engine tells it

    @classmethod
    def read(cls, payload: Mapping[str, Any]) -> Presence:
        presences = as_list(payload.get("presences"))
        first = mapping(presences[0]) if presences else {}
        state = (
            text(first.get("lastKnownPresence")) or text(payload.get("type")) or text(payload.get("state"))
        )
        if state:
            state = _PRESENCE_STATES.get(state.lower(), state.lower())
        return cls(state, number(first.get("lastSeen")))


@dataclass(frozen=True, slots=True)
class Label:
    """A WhatsApp Business label (created, deleted, put on or taken off a chat)."""

    id: str | None
    name: str | None
    color: str | None

    @classmethod
    def read(cls, payload: Mapping[str, Any]) -> Label | None:
        label = mapping(payload.get("label"))
        raw_id = label.get("id", payload.get("labelId"))
        label_id = str(raw_id) if isinstance(raw_id, int) and not isinstance(raw_id, bool) else text(raw_id)
        if not label_id and not label:
            return None
        return cls(label_id, text(label.get("name")), text(label.get("color")) or text(label.get("colorHex")))
