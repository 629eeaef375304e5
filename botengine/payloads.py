"""Reading untrusted payloads: every shape an engine or a docs page uses, one reader per field.

The same fact arrives under different names (`participant`, `author`, `senderId`, `revokedBy`,
a vote's `from`), in different places (the message itself, `after`/`before`, `vote`/`poll`,
`group`, `_data`), and lists sometimes as objects keyed "0", "1", … (`as_list`). Readers never
raise: a field of an unexpected type is treated as absent. `botengine.events.view_of` assembles
their results into the view rules see.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from botengine.jid import jid_kind, parse_message_id, phone_jid

# Event types no person sends: a chat that is a contact is not their sender.
_NO_OWN_SENDER = ("group.", "label.", "chat.", "session.", "state.", "engine.")
_PEOPLE = ("contact", "lid")


def text(value: object) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def mapping(value: object) -> Mapping[str, Any]:
    if isinstance(value, dict):  # what JSON gives: checked first, the Mapping check is slower
        return value
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    """A list, or an object keyed "0", "1", … (how some docs pages render arrays) as one."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and value and all(isinstance(k, str) and k.isdigit() for k in value):
        return [value[k] for k in sorted(value, key=int)]
    return []


def number(value: object) -> float | None:
    """A number, also from its text ("51.5074"); None for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def jid_of(value: object) -> str | None:
    """A JID given as text or as `{id}` / `{_serialized}` (WEBJS ids are objects)."""
    if isinstance(value, str):
        return value if "@" in value else None
    if value is None:
        return None
    found = mapping(value)
    for key in ("_serialized", "id"):
        if isinstance(found.get(key), str) and "@" in found[key]:
            return str(found[key])
    return None


# --- the message an event is about ---------------------------------------------------------------


def message_of(event_type: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The message inside a payload: a revocation keeps it in `after`/`before` (WAHA) or is it
    (Wawp: `{id, revokedBy}`); a vote names its voter in `vote`."""
    if event_type == "message.revoked":
        return mapping(payload.get("after")) or mapping(payload.get("before")) or payload
    if event_type.startswith("poll.vote"):
        return mapping(payload.get("vote")) or payload
    return payload


def message_id_of(event_type: str, payload: Mapping[str, Any], carries_message: bool) -> str | None:
    """The id of the message the event is about: the edited, revoked or polled one where the
    event names it; None for events about no message (a call, a presence, a label…)."""
    if event_type.startswith("poll.vote"):
        return text(mapping(payload.get("poll")).get("id"))
    for key in ("editedMessageId", "revokedMessageId"):
        if found := text(payload.get(key)):
            return found
    candidate = text(message_of(event_type, payload).get("id"))
    if carries_message or (candidate and parse_message_id(candidate)):
        return candidate
    return None


def from_me_of(message: Mapping[str, Any]) -> bool:
    """Our own message: `fromMe`, or (when the payload leaves it out) the `true_` of its id."""
    if isinstance(message.get("fromMe"), bool):
        return bool(message["fromMe"])
    parsed = parse_message_id(message.get("id"))
    return parsed.from_me if parsed else False


# --- chat and sender ---------------------------------------------------------------------------


def chat_of(event_type: str, payload: Mapping[str, Any]) -> str:
    """The full JID of the chat an event belongs to ('' when the payload names none)."""
    group = mapping(payload.get("group"))
    if found := text(group.get("id")):
        return found
    if event_type.startswith("poll.vote"):
        poll = mapping(payload.get("poll"))
        if parsed := parse_message_id(poll.get("id")):
            return parsed.chat
        payload = mapping(payload.get("vote")) or payload
    message = message_of(event_type, payload)
    if parsed := parse_message_id(message.get("id")):
        return parsed.chat
    if found := jid_of(message.get("chatId")) or jid_of(payload.get("chatId")):
        return found  # Wawp's acks, labels, groups, presences; WEBJS group notifications
    sender, recipient = jid_of(message.get("from")), jid_of(message.get("to"))
    if message.get("fromMe") is True and recipient:
        return recipient  # our own message: the chat is the one we wrote to
    if sender:
        return sender
    return jid_of(message.get("id")) or jid_of(payload.get("id")) or ""  # WAHA's presence: `id`


def sender_of(
    event_type: str, payload: Mapping[str, Any], chat: str, from_me: bool, me: str | None
) -> str | None:
    """Who did it: the author of a message, the voter, the one who revoked, the caller, who
    changed a group; the chat itself for a message in a private chat."""
    if event_type.startswith("group."):
        return by_of(payload)
    message = message_of(event_type, payload)
    if from_me:
        # our own message: us, as `me` says, or (without `me`) as its `from` does; a receipt's
        # `from` is the chat that received it, not us
        return me or (None if event_type.startswith("message.ack") else jid_of(message.get("from")))
    places = (message,) if message is payload else (message, payload)
    for key in ("revokedBy", "participant", "author", "senderId", "sender"):
        for place in places:
            if found := jid_of(place.get(key)):
                return found
    if event_type.startswith("poll.vote") and jid_kind(voter := jid_of(message.get("from"))) in _PEOPLE:
        return voter  # a vote's `from` is the voter (a poll's chat may be a group)
    if event_type == "presence.update":  # WAHA: presences[].participant; Wawp: `from`
        presences = as_list(payload.get("presences"))
        first = mapping(presences[0]) if presences else {}
        return jid_of(first.get("participant")) or jid_of(payload.get("from"))
    parsed = parse_message_id(message.get("id"))
    if parsed and parsed.participant:
        return parsed.participant  # a status post (and a group message) names its author in its id
    if event_type.startswith(_NO_OWN_SENDER) or jid_kind(chat) in ("group", "status", "broadcast"):
        return None
    if jid_kind(chat) in _PEOPLE:
        return chat
    return jid_of(message.get("from"))


def by_of(payload: Mapping[str, Any]) -> str | None:
    """Who changed a group (added, removed, promoted, renamed)."""
    for key in ("by", "author", "actor"):
        if found := jid_of(payload.get(key)):
            return found
    return jid_of(mapping(payload.get("_data")).get("author"))


def sender_name_of(message: Mapping[str, Any]) -> str | None:
    raw = mapping(message.get("_data"))
    for value in (
        raw.get("notifyName"),
        message.get("notifyName"),
        message.get("pushName"),
        raw.get("pushName"),
    ):
        if found := text(value):
            return found
    return None


# --- what was said -----------------------------------------------------------------------------


def text_of(event_type: str, payload: Mapping[str, Any]) -> tuple[str, str | None]:
    """(text, previous text): an edit's new and old text; what a revoked message said."""
    if event_type == "message.revoked":
        before = mapping(payload.get("before"))
        return "", text(before.get("body")) or text(before.get("caption"))
    message = message_of(event_type, payload)
    raw = mapping(message.get("_data"))
    for value in (message.get("newBody"), message.get("body"), message.get("caption"), raw.get("caption")):
        if isinstance(value, str) and value:
            return value, text(message.get("prevBody"))
    return "", text(message.get("prevBody"))


def aliases_of(payload: Mapping[str, Any], me: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(lid, phone JID) pairs the event itself carries: a participant's `pn`, an engine's
    `participantAlt`/`remoteJidAlt`/`senderPn`, a join request's `requesterPn`, our own `me.lid`."""
    candidates: list[tuple[object, object]] = [(me.get("lid"), me.get("id"))]
    for entry in participants_of(payload):
        entry = mapping(entry)
        candidates += [(entry.get("id"), entry.get(k)) for k in ("pn", "phoneNumber", "lid")]
    group = mapping(payload.get("group"))
    for entry in as_list(group.get("participants")):
        entry = mapping(entry)
        candidates += [(entry.get("id"), entry.get(k)) for k in ("pn", "phoneNumber", "lid")]
    candidates.append((payload.get("requesterId"), payload.get("requesterPn")))
    raw = mapping(payload.get("_data"))
    for place in (payload, raw, mapping(raw.get("key")), mapping(raw.get("Info"))):
        # `participant` beside `participantAlt` / `participantPn` (and remoteJid, sender, Sender…)
        for name, other in place.items():
            if isinstance(other, str) and isinstance(name, str) and name.endswith(("Alt", "Pn")):
                candidates.append((place.get(name.removesuffix("Alt").removesuffix("Pn")), other))
    for one, other in candidates:
        if pair := _pair(one, other):
            yield pair


def _pair(one: object, other: object) -> tuple[str, str] | None:
    if not isinstance(one, str) or not isinstance(other, str):
        return None
    if jid_kind(one) == "lid" and (phone := phone_jid(other)):
        return one, phone
    if jid_kind(other) == "lid" and (phone := phone_jid(one)):
        return other, phone
    return None


def participants_of(payload: Mapping[str, Any]) -> list[Any]:
    """The entries a group event is about (JIDs or `{id, pn, role}`), in every engine's spelling."""
    for key in ("participants", "recipientIds"):
        if key in payload:
            return as_list(payload[key])
    return []
