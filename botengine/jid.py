"""WhatsApp JIDs: the kind of a chat from its suffix, and the parts of a message id.

A contact and a group can share the digits before the `@`, so JIDs are always kept and compared
whole; only the suffix decides the kind. A person may also appear under a privacy-masked `@lid`
instead of their phone number's JID (botengine/identities.py keeps the two together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

JidKind = Literal["contact", "group", "channel", "lid", "broadcast", "status", "unknown"]

JID_KINDS: tuple[JidKind, ...] = ("contact", "group", "channel", "lid", "broadcast", "status", "unknown")

STATUS_JID = "status@broadcast"

_SUFFIX_KINDS: dict[str, JidKind] = {
    "c.us": "contact",
    "s.whatsapp.net": "contact",  # the NOWEB engine's spelling of a contact
    "g.us": "group",
    "newsletter": "channel",
    "lid": "lid",
    "broadcast": "broadcast",
}


def jid_kind(jid: str | None) -> JidKind:
    """The kind of chat a JID names, from its suffix (`status@broadcast` is Status)."""
    if not jid or "@" not in jid:
        return "unknown"
    if jid == STATUS_JID:
        return "status"
    return _SUFFIX_KINDS.get(jid.rpartition("@")[2], "unknown")


def jid_user(jid: str | None) -> str:
    """The part before the `@` (a phone number for contacts), '' when there is none."""
    if not jid:
        return ""
    return jid.partition("@")[0]


def phone_jid(jid: str | None) -> str | None:
    """A contact's JID in the `@c.us` spelling rules use (NOWEB's `447…@s.whatsapp.net` and a
    device suffix `447…:12@…` included); None for anything that is not a phone number's JID."""
    if not jid or jid_kind(jid) != "contact":
        return None
    user = jid_user(jid).partition(":")[0]
    return f"{user}@c.us" if user else None


@dataclass(frozen=True, slots=True)
class MessageId:
    """The parts of a serialized message id: `{fromMe}_{chat}_{id}[_{participant}]`."""

    from_me: bool
    chat: str
    key: str
    participant: str | None


def parse_message_id(serialized: object) -> MessageId | None:
    """Split a WEBJS-style message id; None when it does not have that shape."""
    if not isinstance(serialized, str):
        return None
    head, sep, rest = serialized.partition("_")
    if not sep or head not in ("true", "false"):
        return None
    parts = rest.split("_")
    if len(parts) < 2 or "@" not in parts[0]:
        return None
    participant = parts[2] if len(parts) > 2 and "@" in parts[2] else None
    return MessageId(from_me=head == "true", chat=parts[0], key=parts[1], participant=participant)
