"""A run of a scheduled rule is an event: its envelope, its id, and the event type reserved for it.

    {"id": "tick_1765184400_weekly-offer", "event": "schedule", "session": "shop",
     "timestamp": 1765184400000, "payload": {"rule": "weekly-offer", "at": "2025-12-08T09:00:00+00:00"}}

The ticker (botengine/ticker.py) puts it in the queue with `Storage.accept`, the same atomic
add-if-absent on (session, event id) that dedupes webhooks: however many workers see the moment
come, the run is queued once, durably, and the worker processes it like any event (rules, the
action ledger, traces, dead letters). The receiver refuses this event type from outside, so a
caller holding the webhook secret still cannot start a scheduled rule.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from botengine.storage import Incoming
from botengine.types import JSONDict

TICK_EVENT = "schedule"


def tick_id(rule: str, at: datetime) -> str:
    """The same for every worker that sees the moment come: the rule and the moment."""
    return f"tick_{int(at.timestamp())}_{rule}"


def tick_envelope(rule: str, session: str, at: datetime) -> JSONDict:
    return {
        "id": tick_id(rule, at),
        "timestamp": int(at.timestamp() * 1000),
        "session": session,
        "engine": "botengine",
        "event": TICK_EVENT,
        "payload": {"rule": rule, "at": at.astimezone(UTC).isoformat()},
        "metadata": {},
    }


def tick_incoming(rule: str, session: str, at: datetime) -> Incoming:
    body = json.dumps(tick_envelope(rule, session, at), ensure_ascii=False).encode()
    return Incoming(session, tick_id(rule, at), TICK_EVENT, "", body, time.time())
