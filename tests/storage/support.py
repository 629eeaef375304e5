"""Records the storage tests build."""

from __future__ import annotations

import time

from botengine.storage import Incoming


def incoming(event_id: str, chat: str = "447441429009@c.us", session: str = "default") -> Incoming:
    return Incoming(session, event_id, "message", chat, b'{"id": "%s"}' % event_id.encode(), time.time())
