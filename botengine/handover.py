"""Chats handed to a person: the bot stays quiet there until the handover ends.

    handover:<session>:<chat>          → Handover   since, until, why, by (expires at `until`)
    sent:<session>:id:<message key>    → the bot sent this message (kept SENT_TTL)
    sent:<session>:text:<chat>:<hash>  → the bot is sending this text to that chat (IN_FLIGHT_TTL)

A handover starts with the `handover` action (a rule decides when: a customer asks for a person,
or `human_reply: true`, an own message the bot did not send, typed on the phone or WhatsApp Web).
It ends when it expires, with the `resume` action, or with the dashboard's Resume button.

Telling the bot's own messages from a person's: Wawp echoes every message the number sends,
the bot's too, as an own message (`fromMe`). The Wawp client tells `SentMessages` about each
send (wawp.py `SendObserver`): before the request leaves, the text's fingerprint for that chat;
after Wawp answers, the message's id. An own message is the bot's when its id was recorded, or,
for an echo that overtakes Wawp's answer (a send from a follow-up or a broadcast runs beside the
chat's events, and Wawp may post the echo before it answers), when the bot was sending the same
text to the same chat within the last IN_FLIGHT_TTL seconds. The price of that window: a person
who types exactly the bot's words into the same chat within a minute of it is taken for the bot.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Literal

from pydantic import ValidationError

from botengine.errors import StorageError
from botengine.events import EventView, Party
from botengine.jid import jid_kind, parse_message_id
from botengine.jobs import Record, encode
from botengine.storage import Storage
from botengine.storage.keys import key
from botengine.types import JSONDict
from botengine.wawp import message_id_of

log = logging.getLogger(__name__)

DEFAULT_FOR = 12 * 3600.0  # how long a chat stays with a person unless the rule says
MAX_FOR = 90 * 86400.0
SENT_TTL = 3 * 86400.0  # how long the bot remembers the ids of its messages (Wawp retries echoes for minutes)
IN_FLIGHT_TTL = 60.0  # how long a send's text counts as the bot's before Wawp's answer names its id
# Chats a person can be answering in: Status posts, channels and broadcast lists are no conversation.
CONVERSATIONS = frozenset({"contact", "lid", "group"})
OWN_MESSAGE_TYPES = frozenset({"message", "message.any"})


class Handover(Record):
    """A chat with a person: since when, until when, why, and who handed it over."""

    type: Literal["handover"] = "handover"
    session: str
    chat: str
    since: float
    until: float
    why: str = ""
    by: str = ""  # the rule that started it (or "dashboard")
    event_id: str = ""


def chat_of(party: Party) -> str:
    """The chat's JID as handovers are keyed: its phone form when known (`@lid` chats too)."""
    return party.phone or party.id


def forms_of(party: Party) -> tuple[str, ...]:
    """The keys a chat's handover may be under: its phone form (or id), then its @lid."""
    return tuple(dict.fromkeys(f for f in (chat_of(party), party.lid) if f))


def handover_key(session: str, chat: str) -> str:
    return key("handover", session, chat)


def message_key(message_id: str) -> str:
    """A message's own key, whatever form its id came in (`true_<chat>_<key>` or the bare key):
    Wawp's answer and its echo may name the chat differently (`@lid` or the phone)."""
    parsed = parse_message_id(message_id)
    return parsed.key if parsed else message_id


def fingerprint(text: str) -> str:
    return hashlib.blake2b(text.strip().encode("utf-8", "replace"), digest_size=12).hexdigest()


def sent_key(session: str, message_id: str) -> str:
    return key("sent", session, "id", message_key(message_id))


def sending_key(session: str, chat: str, text: str) -> str:
    return key("sent", session, "text", chat, fingerprint(text))


def _decode(value: object) -> Handover | None:
    try:
        return Handover.model_validate(value) if isinstance(value, dict) else None
    except ValidationError:
        return None  # unreadable (or from a newer version): the chat is not held back by it


class Handovers:
    """The handovers in a store: start, look up, end, list."""

    def __init__(self, storage: Storage, clock: Callable[[], float] = time.time) -> None:
        self.storage = storage
        self.clock = clock

    async def current(self, session: str, chat: str, now: float | None = None) -> Handover | None:
        """The chat's handover, if it has one that has not ended by `now`."""
        found = _decode(await self.storage.get(handover_key(session, chat)))
        at = self.clock() if now is None else now
        return found if found is not None and found.until > at else None

    async def of(self, session: str, party: Party, now: float | None = None) -> Handover | None:
        """The handover of the chat `party`, under whichever of its forms it was kept: a chat
        handed over while only its @lid was known is found once its phone is known too."""
        for chat in forms_of(party):
            found = await self.current(session, chat, now)
            if found is not None:
                return found
        return None

    async def start(
        self,
        session: str,
        chat: str,
        seconds: float = DEFAULT_FOR,
        *,
        why: str = "",
        by: str = "",
        event_id: str = "",
        now: float | None = None,
    ) -> tuple[Handover, bool]:
        """Hand the chat over for `seconds` from now: (the handover, True when it was not already
        with a person). An ongoing one keeps its start and reason and runs until the later end."""
        at = self.clock() if now is None else now
        before = await self.current(session, chat, at)
        until = at + seconds
        if before is not None:
            record = before.model_copy(update={"until": max(before.until, until)})
        else:
            record = Handover(
                session=session, chat=chat, since=at, until=until, why=why, by=by, event_id=event_id
            )
        await self.storage.put(handover_key(session, chat), encode(record), ttl=max(1.0, record.until - at))
        return record, before is None

    async def end(self, session: str, chat: str) -> bool:
        """Give the chat back to the bot; True when it was with a person."""
        return await self.storage.delete(handover_key(session, chat))

    async def all(self) -> list[Handover]:
        """Every chat with a person now, the most recent first (for the dashboard)."""
        now = self.clock()
        found = []
        for stored_key, value in await self.storage.scan(key("handover", "")):
            record = _decode(value)
            # a record under another chat's key was not written here: leave it out
            if (
                record is not None
                and record.until > now
                and handover_key(record.session, record.chat) == stored_key
            ):
                found.append(record)
        return sorted(found, key=lambda h: h.since, reverse=True)


class SentMessages:
    """What the bot sent (a Wawp `SendObserver`), to tell its own echoes from a person's messages.

    `enabled` says whether any rule uses handovers: without one, nothing is recorded.
    """

    def __init__(self, storage: Storage, enabled: Callable[[], bool] = lambda: True) -> None:
        self.storage = storage
        self.enabled = enabled

    async def sending(self, session: str, chat: str, body: JSONDict) -> None:
        """Before the request leaves: its text is the bot's in that chat for a short while.
        A store failure fails the send (retried): a send the bot cannot recognize would hand its
        own chat over."""
        if self.enabled():
            await self.storage.put(sending_key(session, chat, text_of(body)), 1, ttl=IN_FLIGHT_TTL)

    async def sent(self, session: str, chat: str, answer: JSONDict) -> None:
        """After Wawp answered: the message's id. The message left already, so a store failure
        here is only logged (the text's fingerprint covers the echo for IN_FLIGHT_TTL)."""
        message_id = message_id_of(answer)
        if message_id is None or not self.enabled():
            return
        try:
            await self.storage.put(sent_key(session, message_id), 1, ttl=SENT_TTL)
        except StorageError as exc:
            log.warning("could not record the id of a message the bot sent: %s", exc)

    async def by_bot(self, view: EventView) -> bool:
        """Whether an own message is one the bot sent (its id, or its text while in flight)."""
        if view.message_id and await self.storage.get(sent_key(view.session, view.message_id)) is not None:
            return True
        for chat in view.chat.forms:  # Wawp's echo may name the chat in its other form
            if await self.storage.get(sending_key(view.session, chat, view.text)) is not None:
                return True
        return False


def text_of(body: JSONDict) -> str:
    """The words a send carries, as its echo's `body` will: the text, or a media caption."""
    for field in ("message", "caption", "text"):
        value = body.get(field)
        if isinstance(value, str):
            return value
    return ""


def is_own_message(view: EventView) -> bool:
    """An own message in a conversation: the kind of event a person's reply arrives as."""
    return view.from_me and view.type in OWN_MESSAGE_TYPES and jid_kind(view.chat.id) in CONVERSATIONS
