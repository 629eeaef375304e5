"""Per-chat facts that cancel follow-ups: when the chat last read our messages, when the person
last wrote. Recorded by the processor for every event (only while some rule has a `later` with
`unless:`), read by the scheduler when a follow-up falls due.

Times are the events' own timestamps (the sender's clock), compared with the timestamp of the
event that scheduled the follow-up, so a delivery delay cannot reorder them.
"""

from __future__ import annotations

from collections.abc import Iterable

from botengine.events import ACK_LEVELS, EventView
from botengine.storage import KeyValue
from botengine.storage.keys import key

KEEP = 91 * 86400.0  # longer than the longest `later`
_INBOUND_TYPES = ("message", "message.any")

# The `unless:` word → the fact that cancels.
FACTS = {"read": "read", "replied": "inbound"}


def activity_key(session: str, chat: str, fact: str) -> str:
    return key("activity", session, chat, fact)


def fact_of(view: EventView) -> str | None:
    """Which fact this event establishes about its chat, if any."""
    if not view.chat.id:
        return None
    if view.type in _INBOUND_TYPES and not view.from_me:
        return "inbound"
    if view.type == "message.ack" and view.from_me and (view.ack or 0) >= ACK_LEVELS["read"]:
        return "read"
    return None


async def record(storage: KeyValue, view: EventView) -> None:
    fact = fact_of(view)
    if fact is None:
        return
    slot = activity_key(view.session, view.chat.id, fact)
    at = view.timestamp_ms / 1000
    last = await storage.get(slot)
    if not isinstance(last, int | float) or at > last:  # events may arrive out of order
        await storage.put(slot, at, ttl=KEEP)


async def cancelled_by(
    storage: KeyValue, session: str, chat: str, conditions: Iterable[str], since: float
) -> str | None:
    """The first condition that happened in `chat` after `since`, or None."""
    for condition in conditions:
        at = await storage.get(activity_key(session, chat, FACTS[condition]))
        if isinstance(at, int | float) and at > since:
            return condition
    return None
