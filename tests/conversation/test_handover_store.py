"""Handovers and the bot's own sends in the store, on every backend (memory, disk, Redis)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from botengine import wawp
from botengine.events import parse_envelope, view_of
from botengine.handover import Handovers, SentMessages, handover_key
from botengine.storage import Storage
from botengine.testing import make_event, wawp_bodies

CHAT = "447441429009@c.us"
KEY = "3EB0C767D26A1D8A9A3B"


def own_message(text: str, message_id: str, chat: str = CHAT, payload: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    event = make_event("message.any", text=text, chat=chat, from_me=True, payload=payload)
    event["payload"]["id"] = message_id
    parsed = parse_envelope(json.dumps(event).encode())
    assert not isinstance(parsed, list)
    return view_of(parsed)


@pytest.mark.parametrize(
    "answer",
    [
        {"id": f"true_{CHAT}_{KEY}"},  # Wawp's docs, the fake
        {"id": {"_serialized": f"true_{CHAT}_{KEY}", "fromMe": True}},  # WEBJS
        {"key": {"id": KEY, "fromMe": True, "remoteJid": "447441429009@s.whatsapp.net"}},  # NOWEB
    ],
)
async def test_the_id_wawp_answers_with_names_its_echo_in_every_shape(storage: Storage, answer: dict) -> None:  # type: ignore[type-arg]
    sent = SentMessages(storage)
    await sent.sent("default", CHAT, answer)
    assert await sent.by_bot(own_message("the words differ: a caption, a poll", f"true_{CHAT}_{KEY}"))
    assert not await sent.by_bot(own_message("typed on the phone", f"true_{CHAT}_OTHERKEY0000000000"))


async def test_a_send_in_flight_is_the_bots_in_either_form_of_the_chat(storage: Storage) -> None:
    sent = SentMessages(storage)
    await sent.sending("default", CHAT, {"chatId": CHAT, "message": "Your order is on its way "})
    lid = "215812345678901@lid"
    # the echo names the chat by its @lid, and says which phone it is
    echo = own_message("Your order is on its way", f"true_{lid}_{KEY}", chat=lid, payload={"to": lid})
    echo = replace(echo, chat=replace(echo.chat, phone=CHAT))
    assert await sent.by_bot(echo)
    assert not await sent.by_bot(own_message("Something else", f"true_{CHAT}_{KEY}"))
    assert not await sent.by_bot(own_message("Your order is on its way", f"true_1@c.us_{KEY}", chat="1@c.us"))


async def test_nothing_is_recorded_while_no_rule_hands_over(storage: Storage) -> None:
    sent = SentMessages(storage, enabled=lambda: False)
    await sent.sending("default", CHAT, {"chatId": CHAT, "message": "hi"})
    await sent.sent("default", CHAT, {"id": f"true_{CHAT}_{KEY}"})
    assert await storage.scan("sent:") == []


async def test_a_handover_runs_until_its_end_and_keeps_its_start_when_extended(storage: Storage) -> None:
    handovers = Handovers(storage)
    first, started = await handovers.start(
        "default", CHAT, 3600, why="asked for a person", by="menu", now=1000.0
    )
    assert started and (first.since, first.until) == (1000.0, 4600.0)
    again, started = await handovers.start("default", CHAT, 60, why="typed on the phone", now=2000.0)
    assert not started and (again.since, again.until, again.why) == (1000.0, 4600.0, "asked for a person")
    longer, _ = await handovers.start("default", CHAT, 7200, now=3000.0)
    assert longer.until == 10200.0
    assert await handovers.current("default", CHAT, now=10199.0) is not None
    assert await handovers.current("default", CHAT, now=10200.0) is None
    assert await handovers.current("other-number", CHAT, now=3000.0) is None  # per session


async def test_the_list_holds_the_live_handovers_newest_first_and_resume_ends_one(storage: Storage) -> None:
    handovers = Handovers(storage)
    await handovers.start("default", CHAT, 3600)
    await handovers.start("default", "15550001111@c.us", 3600)
    assert [h.chat for h in await handovers.all()] == ["15550001111@c.us", CHAT]
    assert await handovers.end("default", CHAT)
    assert not await handovers.end("default", CHAT)
    assert [h.chat for h in await handovers.all()] == ["15550001111@c.us"]


@pytest.mark.parametrize(
    "stored",
    [
        "not a record",
        {"type": "handover", "session": "default", "chat": CHAT, "since": 1, "until": "soon"},
        {"v": 99, "type": "handover", "session": "default", "chat": CHAT, "since": 1, "until": 9e12},
        # a record copied under another chat's key speaks for that chat only
        {"type": "handover", "session": "default", "chat": "1@c.us", "since": 1, "until": 9e12},
    ],
)
async def test_a_tampered_or_newer_record_holds_no_chat_back(storage: Storage, stored: object) -> None:
    await storage.put(handover_key("default", CHAT), stored)  # type: ignore[arg-type]
    handovers = Handovers(storage)
    found = await handovers.current("default", CHAT)
    assert found is None or found.chat != CHAT
    assert [h.chat for h in await handovers.all()] == []


def test_every_endpoint_that_makes_a_message_is_recorded() -> None:
    # a send endpoint added to the client but not here would hand its own chats over
    assert wawp_bodies.MESSAGE_PATHS | {wawp.SEND_TEXT} == wawp.MESSAGE_PATHS
