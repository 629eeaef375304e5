"""Wawp events built from a few fields: for inline tests, the playground, `botengine emit` and tests."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from botengine.jid import jid_kind

DEFAULT_ME = {"id": "201001234567@c.us", "pushName": "Acme Support"}
# A fictional number (+1 202 555-0100) on no list a rules folder ships with: a tried message must
# not turn into a VIP's at night, say, just because the sender was left out.
DEFAULT_SENDER = "12025550100@c.us"


def new_event_id() -> str:
    """An id shaped like Wawp's (`evt_` + 26 characters, time-ordered like a ULID)."""
    stamp = f"{time.time_ns() // 1_000_000:012X}"
    return "evt_" + stamp + secrets.token_hex(7).upper()


def make_event(
    event: str = "message",
    *,
    text: str | None = None,
    sender: str = DEFAULT_SENDER,
    chat: str | None = None,
    session: str = "default",
    name: str | None = None,
    from_me: bool = False,
    event_id: str | None = None,
    timestamp_ms: int | None = None,
    emoji: str | None = None,
    ack: int | None = None,
    group_action: str | None = None,
    participants: list[str] | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A valid event envelope. Only what you pass is set; the rest looks like a real WEBJS event.

    `chat` defaults to `sender` (a private chat); give a group JID for a group message.
    """
    now_ms = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    chat = chat or sender
    message_key = secrets.token_hex(10).upper()
    body: dict[str, Any] = {
        "id": f"{'true' if from_me else 'false'}_{chat}_{message_key}",
        "timestamp": now_ms // 1000,
        "from": DEFAULT_ME["id"] if from_me else chat,
        "to": chat if from_me else DEFAULT_ME["id"],
        "fromMe": from_me,
    }
    if jid_kind(chat) == "group" and not from_me:
        body["id"] += f"_{sender}"
        body["participant"] = sender
        body["author"] = sender
    if name:
        body["_data"] = {"notifyName": name}
    if event in ("message", "message.any", "status.update"):
        body["body"] = text or ""
        body["hasMedia"] = False
    if event == "message.reaction":
        target = f"true_{chat}_{secrets.token_hex(10).upper()}"
        body["reaction"] = {"text": emoji or "", "messageId": target}
    if event == "message.ack":
        level = 3 if ack is None else ack
        body["ack"] = level
        body["ackName"] = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}[level]
        body["id"] = f"true_{chat}_{message_key}"
        body["fromMe"] = True
    if (event.startswith("group") and "participants" in event) or group_action:
        body = {
            "group": {"id": chat},
            "participants": [{"id": p, "role": "participant"} for p in (participants or [sender])],
            "type": group_action or "join",
            "timestamp": now_ms // 1000,
        }
    if payload:
        body.update(payload)
    return {
        "id": event_id or new_event_id(),
        "timestamp": now_ms,
        "session": session,
        "engine": "WEBJS",
        "event": event,
        "payload": body,
        "me": dict(DEFAULT_ME),
        "metadata": {},
    }


def load_event(path: str | Path) -> dict[str, Any]:
    """An event from a JSON file."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data
