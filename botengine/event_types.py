"""Every event type Wawp (and the WAHA engine under it) sends, and what each one carries.

`check` reads this to warn about rules that can never fire: `on: mesage`, an `ack:` trigger on a
rule about messages, a `reply` on an event that has no chat. Event types missing here are still
accepted and evaluated (new ones appear over time); `check` only says it does not know them.

What an event carries (`Carry`) is what the normalized view can fill for it:

    chat          a chat (so `reply` has somewhere to go)      message   a message id (`react`, quote)
    sender        a person who did it                          text      text (triggers on text)
    media         media                                         ack       a delivery level
    reaction      a reaction                                    group     a group event (`group`)
    participants  people a group event is about                 poll      a poll vote
    call          a call                                        presence  a presence state
    status        a session status                              label     a label
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Carry = Literal[
    "chat",
    "sender",
    "message",
    "text",
    "media",
    "ack",
    "reaction",
    "group",
    "participants",
    "poll",
    "call",
    "presence",
    "status",
    "label",
]

# What a carry is called in a warning: "message.reaction events never carry {a delivery level}".
CARRY_WORDS: dict[str, str] = {
    "chat": "a chat",
    "sender": "a sender",
    "message": "a message",
    "text": "text",
    "media": "media",
    "ack": "a delivery level",
    "reaction": "a reaction",
    "group": "a group change",
    "participants": "participants",
    "poll": "a poll vote",
    "call": "a call",
    "presence": "a presence",
    "status": "a session status",
    "label": "a label",
}


@dataclass(frozen=True)
class EventType:
    name: str
    summary: str
    carries: frozenset[Carry]


_MESSAGE: frozenset[Carry] = frozenset({"chat", "sender", "message", "text", "media"})
_GROUP: frozenset[Carry] = frozenset({"chat", "sender", "group", "participants"})
_CALL: frozenset[Carry] = frozenset({"chat", "sender", "call"})
_POLL: frozenset[Carry] = frozenset({"chat", "sender", "message", "poll"})
_ACK: frozenset[Carry] = frozenset({"chat", "sender", "message", "ack"})


def _types(*rows: tuple[str, str, frozenset[Carry]]) -> dict[str, EventType]:
    return {name: EventType(name, summary, carries) for name, summary, carries in rows}


EVENT_TYPES: dict[str, EventType] = _types(
    ("message", "a message someone sent (text, media, location, contact card…)", _MESSAGE),
    ("message.any", "every message, our own included", _MESSAGE | {"ack"}),
    ("message.reaction", "someone reacted to a message, or took the reaction back", _MESSAGE | {"reaction"}),
    ("message.ack", "a message of ours was sent, delivered, read or played", _ACK),
    ("message.ack.group", "a message of ours in a group was delivered to or read by a member", _ACK),
    ("message.edited", "someone edited a message: `text` is the new text, `previous_text` the old", _MESSAGE),
    ("message.revoked", "someone deleted a message for everyone", _MESSAGE),
    (
        "message.waiting",
        "WhatsApp is waiting for a message to arrive",
        frozenset({"chat", "sender", "message"}),
    ),
    ("status.update", "someone posted a Status (story)", _MESSAGE),
    ("poll.vote", "someone voted in a poll", _POLL),
    ("poll.vote.failed", "a vote arrived that could not be read (no options)", _POLL),
    ("event.response", "someone answered an event invitation", frozenset({"chat", "sender", "message"})),
    (
        "event.response.failed",
        "an answer to an event invitation could not be read",
        frozenset({"chat", "sender"}),
    ),
    ("group.v2.join", "we joined or were added to a group", _GROUP),
    ("group.v2.leave", "we left or were removed from a group", _GROUP),
    ("group.v2.participants", "people joined, left, were promoted or demoted", _GROUP),
    (
        "group.v2.update",
        "a group's subject, description or settings changed",
        frozenset({"chat", "sender", "group"}),
    ),
    ("group.participants.update", "people joined, left, were promoted or demoted (Wawp's name)", _GROUP),
    ("group.join", "someone joined a group (older engines)", _GROUP),
    ("group.leave", "someone left a group (older engines)", _GROUP),
    (
        "presence.update",
        "someone is online, offline, typing or recording",
        frozenset({"chat", "sender", "presence"}),
    ),
    ("call.received", "an incoming voice or video call", _CALL),
    ("call.accepted", "a call was accepted", _CALL),
    ("call.rejected", "a call was declined", _CALL),
    ("chat.archive", "a chat was archived or unarchived", frozenset({"chat"})),
    ("label.upsert", "a label was created or changed", frozenset({"label"})),
    ("label.deleted", "a label was deleted", frozenset({"label"})),
    ("label.chat.added", "a label was put on a chat", frozenset({"chat", "label"})),
    ("label.chat.deleted", "a label was taken off a chat", frozenset({"chat", "label"})),
    (
        "session.status",
        "the instance's status changed (STARTING, SCAN_QR_CODE, WORKING, FAILED…)",
        frozenset({"status"}),
    ),
    ("state.change", "the engine's internal state changed (not the session status)", frozenset()),
    ("engine.event", "a raw event of the engine underneath", frozenset()),
    # not from Wawp: botengine's own, a run of a rule with schedule: (botengine/ticks.py)
    ("schedule", "a scheduled rule's run (schedule:); the engine makes it, Wawp cannot send it", frozenset()),
)
