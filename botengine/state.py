"""Conversation state: named variables per chat (or per sender), with an expiry.

Written by the `set` / `clear` actions (and the answers to `ask`), read by the `state` trigger
and, as `state.NAME` (this chat) and `sender_state.NAME` (this sender), by templates and
expressions. Menu bots are built from it ("reply 1 for orders, 2 for support" →
`set: {var: menu, value: main}`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from botengine.events import EventView
from botengine.storage import Storage
from botengine.storage.keys import key
from botengine.types import JSON

Scope = Literal["chat", "sender"]

DEFAULT_TTL = 24 * 3600.0  # a conversation left alone for a day starts over

# The template / expression variable that shows each scope's state.
VARIABLE_OF: dict[Scope, str] = {"chat": "state", "sender": "sender_state"}
SCOPE_OF: dict[str, Scope] = {name: scope for scope, name in VARIABLE_OF.items()}


def state_key(session: str, scope: Scope, owner: str, var: str) -> str:
    return key("state", session, scope, owner, var)


def owner_of(view: EventView, scope: Scope) -> str:
    """Whose state an event reads and writes: its chat's, or its sender's ('' when it has none)."""
    if scope == "chat":
        return view.chat.id
    return view.sender.id if view.sender else ""


async def get_var(storage: Storage, session: str, scope: Scope, owner: str, var: str) -> JSON | None:
    return await storage.get(state_key(session, scope, owner, var))


async def set_var(
    storage: Storage, session: str, scope: Scope, owner: str, var: str, value: JSON, ttl: float | None
) -> None:
    await storage.put(state_key(session, scope, owner, var), value, ttl=ttl)


async def clear_var(storage: Storage, session: str, scope: Scope, owner: str, var: str) -> bool:
    return await storage.delete(state_key(session, scope, owner, var))


async def read_vars(
    storage: Storage, view: EventView, needed: Iterable[tuple[Scope, str]]
) -> dict[str, dict[str, JSON | None]]:
    """The named variables, as the template variables `state` and `sender_state` hold them.

    One store read per name: only the names a rule uses are read (the loader knows them), never
    every variable a chat has. A variable that is not set reads as none.
    """
    found: dict[str, dict[str, JSON | None]] = {"state": {}, "sender_state": {}}
    for scope, var in needed:
        owner = owner_of(view, scope)
        value = await get_var(storage, view.session, scope, owner, var) if owner else None
        found[VARIABLE_OF[scope]][var] = value
    return found
