"""The polls the bot sent, so a vote can be matched by the question and the option chosen.

A `poll.vote` event names the poll by its message id and the options chosen, but not the
question: the `poll` action records each poll it sends under its message id, and the `poll`
trigger looks the question up there.

    poll\x1f<session>\x1f<message key>  →  {"question", "options", "chat", "multiple", "at"}
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from botengine.jid import parse_message_id
from botengine.storage import Storage
from botengine.storage.keys import key
from botengine.types import JSONDict

KEEP_POLLS = 90 * 86400.0  # votes on a poll older than this are not matched by question


def poll_key(session: str, message_id: str) -> str:
    """One key per sent poll, whichever form of its id (`true_<chat>_<key>` or the bare key) is given."""
    parsed = parse_message_id(message_id)
    return key("poll", session, parsed.key if parsed else message_id)


@dataclass(frozen=True)
class SentPoll:
    question: str
    options: tuple[str, ...]
    chat: str
    multiple: bool

    def to_json(self) -> JSONDict:
        return {
            "question": self.question,
            "options": list(self.options),
            "chat": self.chat,
            "multiple": self.multiple,
            "at": time.time(),
        }

    @classmethod
    def from_json(cls, data: object) -> SentPoll | None:
        if not isinstance(data, dict) or not isinstance(data.get("question"), str):
            return None
        options = data.get("options")
        return cls(
            question=data["question"],
            options=tuple(str(o) for o in options) if isinstance(options, list) else (),
            chat=str(data.get("chat") or ""),
            multiple=bool(data.get("multiple")),
        )


async def remember(storage: Storage, session: str, message_id: str, poll: SentPoll) -> None:
    await storage.put(poll_key(session, message_id), poll.to_json(), ttl=KEEP_POLLS)


async def recall(storage: Storage, session: str, message_id: str) -> SentPoll | None:
    return SentPoll.from_json(await storage.get(poll_key(session, message_id)))
