"""Conversation state: named variables per chat (or per sender), with an expiry.

Written by the `set` / `clear` actions, read by the `state` trigger; menu bots are built from it
("reply 1 for orders, 2 for support" → `set: {var: menu, value: main}`).
"""

from __future__ import annotations

from typing import Literal

from botengine.storage import Storage
from botengine.storage.keys import key
from botengine.types import JSON

Scope = Literal["chat", "sender"]

DEFAULT_TTL = 24 * 3600.0  # a conversation left alone for a day starts over


def state_key(session: str, scope: Scope, owner: str, var: str) -> str:
    return key("state", session, scope, owner, var)


async def get_var(storage: Storage, session: str, scope: Scope, owner: str, var: str) -> JSON | None:
    return await storage.get(state_key(session, scope, owner, var))


async def set_var(
    storage: Storage, session: str, scope: Scope, owner: str, var: str, value: JSON, ttl: float | None
) -> None:
    await storage.put(state_key(session, scope, owner, var), value, ttl=ttl)


async def clear_var(storage: Storage, session: str, scope: Scope, owner: str, var: str) -> bool:
    return await storage.delete(state_key(session, scope, owner, var))
