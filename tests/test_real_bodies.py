"""Every sample body (examples/events/, Wawp's and WAHA's published examples among them) through the
receiver over real HTTP and through `botengine dry-run`, against values written out by hand.

The expected values below were read off each JSON file, not produced by the code under test. A
catch-all rule renders the variables to JSON with a template, so both paths are checked through
what a rule author's template really sees.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import httpx
import pytest

from botengine.cli import main
from botengine.dashboard.traces import TraceStore
from botengine.testing.engine import running_engine
from tests.conftest import SAMPLES
from tests.rules_helpers import write_rules

G = "120363025912345678@g.us"
ME = "201001234567@c.us"
ALICE = "447441429009@c.us"
DOCS = "11111111111@c.us"  # the placeholder person of Wawp's pages (also their `me`)
STATUS = "status@broadcast"

# file → what rules see: event, chat, sender, text, then other variables by dotted path.
EXPECTED: dict[str, dict[str, Any]] = {
    # --- WAHA-shaped samples --------------------------------------------------------------------
    "call-received.json": {
        "event": "call.received",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "message_id": None,
        "call": {"id": "ABCDEF1234567890ABCDEF1234567890", "video": False, "group": False},
    },
    "group-participants-join.json": {
        "event": "group.participants.update",
        "chat": G,
        "sender": "201009998877@c.us",
        "text": "",
        "message_id": None,
        "group.action": "join",
        "group.by": "201009998877@c.us",
        "participants": ["15551234567@c.us"],
        "group.members": [
            {"id": "15551234567@c.us", "role": "participant", "phone": "15551234567@c.us", "lid": None}
        ],
    },
    "message-ack-delivered.json": {
        "event": "message.ack",
        "chat": ALICE,
        "sender": ME,
        "text": "",
        "from_me": True,
        "ack": 2,
        "ack_name": "delivered",
        "message_id": "true_447441429009@c.us_3EB0FFEEDDCCBBAA9988",
    },
    "message-ack-read.json": {
        "event": "message.ack",
        "chat": ALICE,
        "sender": ME,
        "text": "",
        "from_me": True,
        "ack": 3,
        "ack_name": "read",
        "message_id": "true_447441429009@c.us_3EB0FFEEDDCCBBAA9988",
    },
    "message-channel.json": {
        "event": "message",
        "chat": "120363111111111111@newsletter",
        "chat.kind": "channel",
        "sender": "120363111111111111@newsletter",
        "text": "Weekly update: prices drop 10%",
        "message_id": "false_120363111111111111@newsletter_99",
    },
    "message-from-me.json": {
        "event": "message",
        "chat": ALICE,
        "sender": ME,
        "sender.name": "Acme Support",
        "text": "Hello! How can I help?",
        "from_me": True,
        "ack_name": "pending",
    },
    "message-image-caption.json": {
        "event": "message",
        "chat": ALICE,
        "sender": ALICE,
        "text": "my receipt",
        "media": {
            "url": "https://api.wawp.net/files/acme_main/3EB05F2E6B1D8C4A9F11.jpeg",
            "mimetype": "image/jpeg",
            "filename": None,
        },
        "ack_name": "sent",
        "message_id": "false_447441429009@c.us_3EB05F2E6B1D8C4A9F11",
    },
    "message-lid.json": {
        "event": "message",
        "chat": "215589313241560@lid",
        "chat.kind": "lid",
        "chat.name": "Bob",
        "sender": "215589313241560@lid",
        "sender.name": "Bob",
        "text": "hello, what are your opening hours?",
    },
    "message-reaction-removed.json": {
        "event": "message.reaction",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "emoji": "",
        "reaction": {
            "emoji": "",
            "removed": True,
            "message_id": "true_447441429009@c.us_3EB0FFEEDDCCBBAA9988",
        },
        "message_id": "false_447441429009@c.us_3EB0D1E2F3A4B5C6D7E9",
    },
    "message-reaction-wawp-shape.json": {
        "event": "message.reaction",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "emoji": "🔥",
        "reaction.message_id": "true_447441429009@c.us_3EB0FFEEDDCCBBAA9988",
        "me.lid": "98765432101234@lid",
    },
    "message-reaction.json": {
        "event": "message.reaction",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "emoji": "❤️",
        "reaction.removed": False,
    },
    "message-revoked.json": {
        "event": "message.revoked",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "previous_text": "Hi! Is the shop open today?",
        "message_id": "false_447441429009@c.us_3EB0C767D097B7C7C030",
    },
    "message-text-group.json": {
        "event": "message",
        "chat": G,
        "chat.kind": "group",
        "chat.name": None,
        "sender": ALICE,
        "sender.name": "Alice",
        "text": "Where can I find the price list?",
    },
    "message-text-private.json": {
        "event": "message",
        "chat": ALICE,
        "chat.name": "Alice",
        "sender": ALICE,
        "sender.name": "Alice",
        "sender.number": "447441429009",
        "text": "Hi! Is the shop open today?",
        "from_me": False,
    },
    "presence-update.json": {
        "event": "presence.update",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "message_id": None,
        "presence": {"state": "online", "last_seen": None},
    },
    "status-update.json": {
        "event": "status.update",
        "chat": STATUS,
        "chat.kind": "status",
        "sender": ALICE,
        "text": "New collection drops Friday!",
        "reply_to": ALICE,
    },
    # --- WAHA's webhooks page: no id, no timestamp -----------------------------------------------
    "waha-docs/message.ack.json": {
        "event": "message.ack",
        "chat": DOCS,
        "sender": "",
        "text": "",
        "from_me": True,
        "ack": 3,
        "ack_name": "read",
        "message_id": "true_11111111111@c.us_4CC5EDD64BC22EBA6D639F2AF571346C",
    },
    "waha-docs/message.json": {
        "event": "message",
        "chat": DOCS,
        "sender": DOCS,
        "sender.name": "MyName",
        "text": "Hi there!",
        "from_me": True,
        "ack_name": "sent",
        "vcards": [],
    },
    "waha-docs/poll.vote.failed.json": {
        "event": "poll.vote.failed",
        "chat": "1111111111@c.us",
        "sender": "111111111@c.us",
        "text": "",
        "poll": {"id": "true_1111111111@c.us_BAE595F4E0A2042C", "question": None, "chosen": []},
        "message_id": "true_1111111111@c.us_BAE595F4E0A2042C",
    },
    "waha-docs/poll.vote.json": {
        "event": "poll.vote",
        "chat": "1111111111@c.us",
        "sender": "1111111@c.us",
        "text": "",
        "poll.chosen": ["Awesome!"],
        "message_id": "true_1111111111@c.us_BAE5F2EF5C69001E",
    },
    "waha-docs/presence.update.json": {
        "event": "presence.update",
        "chat": "111111111111111111@g.us",
        "sender": "11111111111@c.us",
        "text": "",
        "presence.state": "typing",
    },
    "waha-docs/session.status.json": {
        "event": "session.status",
        "chat": "",
        "sender": "",
        "text": "",
        "session": "default",
        "session_status": "WORKING",
        "me.id": "7911111@c.us",
    },
    # --- bodies built from WAHA's types --------------------------------------------------------
    "waha-schema/call.received-video-group.json": {
        "event": "call.received",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "call": {"id": "ABCDEF0123456789ABCDEF0123456789", "video": True, "group": True},
    },
    "waha-schema/group.join.json": {
        "event": "group.join",
        "chat": G,
        "sender": ALICE,
        "text": "",
        "group.action": "join",
        "group.by": ALICE,
        "participants": ["15551234567@c.us"],
        "message_id": None,
    },
    "waha-schema/group.v2.join.json": {
        "event": "group.v2.join",
        "chat": G,
        "chat.name": "Acme VIP customers",
        "sender": "",
        "text": "",
        "group.action": "join",
        "group.subject": "Acme VIP customers",
        "group.description": "Offers first",
        "participants": [ME],
        "group.members": [{"id": ME, "role": "participant", "phone": ME, "lid": "98765432101234@lid"}],
    },
    "waha-schema/group.v2.leave.json": {
        "event": "group.v2.leave",
        "chat": G,
        "sender": "",
        "text": "",
        "group.action": "leave",
        "participants": [ME],
    },
    "waha-schema/group.v2.participants-join.json": {
        "event": "group.v2.participants",
        "chat": G,
        "sender": "",
        "text": "",
        "group.action": "join",
        "participants": ["111122223333444@lid"],
        "group.members": [
            {
                "id": "111122223333444@lid",
                "role": "participant",
                "phone": "15551234567@c.us",
                "lid": "111122223333444@lid",
            }
        ],
    },
    "waha-schema/group.v2.participants-promote.json": {
        "event": "group.v2.participants",
        "chat": G,
        "sender": "",
        "text": "",
        "group.action": "promote",
        "participants": ["15551234567@c.us"],
        "group.members.0.role": "admin",
    },
    "waha-schema/group.v2.update.json": {
        "event": "group.v2.update",
        "chat": G,
        "chat.name": "Acme VIP (new name)",
        "sender": "",
        "text": "",
        "group.action": "update",
        "group.subject": "Acme VIP (new name)",
        "participants": [],
    },
    "waha-schema/label.chat.added.json": {
        "event": "label.chat.added",
        "chat": ALICE,
        "sender": "",
        "text": "",
        "label": {"id": "7", "name": "Paid", "color": "#64C4FF"},
        "message_id": None,
    },
    "waha-schema/message-lid-alt.json": {
        "event": "message",
        "chat": G,
        "sender": "215589313241560@lid",
        "sender.phone": ALICE,
        "sender.lid": "215589313241560@lid",
        "sender.number": "447441429009",
        "sender.name": "Alice",
        "text": "do you ship to Leeds?",
    },
    "waha-schema/message-status-post.json": {
        "event": "message",
        "chat": STATUS,
        "sender": ALICE,
        "text": "Spring collection is in!",
        "reply_to": ALICE,
    },
    "waha-schema/message-voice-note.json": {
        "event": "message",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "media.mimetype": "audio/ogg; codecs=opus",
        "quoted": {
            "id": "true_447441429009@c.us_3EB0FFEEDDCCBBAA9988",
            "sender": ME,
            "text": "Which colour would you like?",
        },
    },
    "waha-schema/message.ack.group.json": {
        "event": "message.ack.group",
        "chat": G,
        "sender": ME,
        "text": "",
        "from_me": True,
        "ack_name": "read",
        "message_id": "true_120363025912345678@g.us_3EB0GROUPACK000000000AA",
    },
    "waha-schema/message.edited.json": {
        "event": "message.edited",
        "chat": ALICE,
        "sender": ALICE,
        "text": "Actually I need the blue one",
        "previous_text": None,
        "message_id": "false_447441429009@c.us_3EB0C767D097B7C7C030",
    },
    "waha-schema/message.revoked.json": {
        "event": "message.revoked",
        "chat": ALICE,
        "sender": ALICE,
        "text": "",
        "previous_text": None,
        "message_id": "false_447441429009@c.us_3EB0C767D097B7C7C030",
    },
    # --- Wawp's own pages ----------------------------------------------------------------------
    "wawp-docs/call.received-3.json": {
        "event": "call.received",
        "chat": DOCS,
        "sender": DOCS,
        "text": "",
        "message_id": None,
        "call": {"id": "call_12345", "video": False, "group": None},
    },
    "wawp-docs/call.rejected.json": {
        "event": "call.rejected",
        "chat": "",
        "sender": "",
        "text": "",
        "message_id": None,
        "call.id": "call_12345",
    },
    "wawp-docs/chat.archive-3.json": {
        "event": "chat.archive",
        "chat": DOCS,
        "sender": "",
        "text": "",
        "payload.archived": True,
    },
    "wawp-docs/group.v2.leave-3.json": {
        "event": "group.v2.leave",
        "chat": "1234567890@g.us",
        "sender": "",
        "text": "",
        "group.action": "leave",
        "participants": [DOCS],
    },
    "wawp-docs/group.v2.participants-3.json": {
        "event": "group.v2.participants",
        "chat": "1234567890@g.us",
        "sender": "",
        "text": "",
        "group.action": "promote",
        "participants": [DOCS],
    },
    "wawp-docs/group.v2.update.json": {
        "event": "group.v2.update",
        "chat": "1234567890@g.us",
        "chat.name": "New Group Name",
        "sender": "",
        "text": "",
        "group.action": "update",
        "group.subject": "New Group Name",
        "group.description": "Updated description text",
    },
    "wawp-docs/label.chat.added.json": {
        "event": "label.chat.added",
        "chat": DOCS,
        "sender": "",
        "text": "",
        "label": {"id": "1", "name": None, "color": None},
    },
    "wawp-docs/label.chat.deleted.json": {
        "event": "label.chat.deleted",
        "chat": DOCS,
        "sender": "",
        "text": "",
        "label.id": "1",
    },
    "wawp-docs/label.deleted.json": {
        "event": "label.deleted",
        "chat": "",
        "sender": "",
        "text": "",
        "label.id": "1",
    },
    "wawp-docs/label.upsert-3.json": {
        "event": "label.upsert",
        "chat": "",
        "sender": "",
        "text": "",
        "label": {"id": "1", "name": "New Customer", "color": "#DFE5E7"},
    },
    "wawp-docs/message-11.json": {
        "event": "message",
        "chat": DOCS,
        "sender": DOCS,
        "sender.name": "Wawp Instance",
        "sender.lid": "123123@lid",
        "text": "Hello, world!",
        "from_me": True,
        "ack": -1,
        "ack_name": "error",
        "media.mimetype": "audio/ogg",
        "media.filename": "example.oga",
        "quoted": {"id": "AAAAAAAAAAAAAAAAAAAA", "sender": DOCS, "text": "Hello!"},
        "location": {"latitude": 51.5074, "longitude": 0.1278, "description": "London, UK", "url": None},
        "vcards": ["BEGIN:VCARD..."],
        "payload.source": "api",
    },
    "wawp-docs/message.ack-4.json": {
        "event": "message.ack",
        "chat": DOCS,
        "sender": DOCS,
        "text": "",
        "from_me": True,
        "ack": 3,
        "ack_name": "read",
        "message_id": "true_11111111111@c.us_...",
    },
    "wawp-docs/message.edited-3.json": {
        "event": "message.edited",
        "chat": DOCS,
        "sender": DOCS,
        "text": "Updated message text!",
        "previous_text": "Old message text",
        "from_me": False,
        "message_id": "false_11111111111@c.us_...",
    },
    "wawp-docs/message.reaction-3.json": {
        "event": "message.reaction",
        "chat": DOCS,
        "sender": DOCS,
        "text": "",
        "emoji": "❤️",
        "reaction.message_id": "false_11111111111@c.us_AAAAA",
        "message_id": "false_11111111111@c.us_...",
    },
    "wawp-docs/message.revoked-4.json": {
        "event": "message.revoked",
        "chat": DOCS,
        "sender": DOCS,
        "text": "",
        "message_id": "false_11111111111@c.us_...",
    },
    "wawp-docs/presence.update-3.json": {
        "event": "presence.update",
        "chat": DOCS,
        "sender": DOCS,
        "text": "",
        "message_id": None,
        "presence.state": "typing",
    },
    "wawp-docs/session.status-4.json": {
        "event": "session.status",
        "chat": "",
        "sender": "",
        "text": "",
        "session_status": "STOPPED",
        "me.lid": "123123@lid",
    },
    "wawp-docs/session.status-5.json": {
        "event": "session.status",
        "chat": "",
        "sender": "",
        "text": "",
        "session": "123456789",
        "session_status": "SCAN_QR_CODE",
        "payload.qr": "...",
    },
}

# The variables a rule renders (everything but the times, which change with every run).
_SHOWN = [
    "event",
    "text",
    "previous_text",
    "sender",
    "chat",
    "me",
    "session",
    "message_id",
    "from_me",
    "ack",
    "ack_name",
    "emoji",
    "reaction",
    "media",
    "quoted",
    "location",
    "vcards",
    "group",
    "participants",
    "participant",
    "poll",
    "call",
    "presence",
    "session_status",
    "label",
    "payload",
]
# A catch-all rule: every event, our own messages too, sends the variables as JSON somewhere fixed;
# and a reply to every message, to see where replies go.
RULES = (
    "rules:\n  - name: show\n    on: '*'\n    if: {from_me: any}\n    do:\n"
    "      - send:\n          to: '0@c.us'\n"
    "          text: '{{ {" + ", ".join(f'"{n}": {n}' for n in _SHOWN) + "} | tojson }}'\n"
    "  - name: answer\n    on: [message, status.update]\n    if: {from_me: any}\n    do: [{reply: ok}]\n"
)


def _names() -> list[str]:
    return sorted(str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.json"))


def test_every_sample_file_has_expected_values() -> None:
    assert sorted(EXPECTED) == _names()


def _value(shown: dict[str, Any], path: str) -> Any:
    value: Any = shown
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _compare(name: str, planned: dict[str, dict[str, Any]]) -> None:
    """`planned`: action kind → what the rule's action was given (send) or would do (reply)."""
    shown = json.loads(planned["send"]["text"])
    flat = {"chat": shown["chat"]["id"], "sender": shown["sender"]["id"]}
    got = {}
    for path in EXPECTED[name]:
        if path == "reply_to":
            got[path] = planned["reply"]["to"]
        else:
            got[path] = flat[path] if path in flat else _value(shown, path)
    assert got == EXPECTED[name]


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rules")
    write_rules(folder, RULES)
    return folder


@pytest.mark.parametrize("name", _names())
def test_through_dry_run(name: str, rules_dir: Path) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["dry-run", "--json", "--rules", str(rules_dir), str(SAMPLES / name)]) == 0
    planned = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all("error" not in p for p in planned), planned
    _compare(name, {p["action"]: p["params"] if p["action"] == "send" else p["preview"] for p in planned})


@pytest.mark.parametrize("name", _names())
def test_through_the_receiver(name: str, rules_dir: Path, tmp_path: Path) -> None:
    # a fresh engine per file: the docs samples share one placeholder id (a second is a duplicate)
    with running_engine(rules_dir, tmp_path / "data", dry_run=True) as bot:
        response = httpx.post(
            bot.url + bot.settings.webhook_path,
            content=(SAMPLES / name).read_bytes(),  # the bytes as published
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert response.json() == {"status": "accepted"}, response.text
        bot.wait_processed(1)
        [trace] = bot.call(lambda engine: TraceStore(engine.storage).recent())  # the dashboard's record
    assert all(a["status"] == "dry-run" for a in trace["actions"]), trace["actions"]
    _compare(
        name, {a["action"]: a["params"] if a["action"] == "send" else a["preview"] for a in trace["actions"]}
    )
