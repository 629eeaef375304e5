"""Who asked not to get broadcasts: a suppression list beside the rules, and the store.

    lists/optout.txt   numbers or JIDs an operator keeps by hand (and `suppress:` names others)
    opted out          people who wrote STOP: the `opt_out` action puts them in the store

A broadcast asks `OptOuts.has(session, jid)` before each person, so a STOP received while a
campaign runs takes effect for the people not yet reached (suppression files are read when a run
starts or resumes). Any other source (a CRM's list, store-backed lists) drops in as another
`OptOuts`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from botengine.audience import jid_of
from botengine.storage import Storage
from botengine.storage.keys import key


class OptOuts(Protocol):
    async def has(self, session: str, jid: str) -> bool: ...


def optout_key(session: str, jid: str) -> str:
    return key("optout", session, jid)


class StoreOptOuts:
    """Opt-outs kept in the store, per session (one number's customers are not another's)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def has(self, session: str, jid: str) -> bool:
        return await self.storage.get(optout_key(session, jid)) is not None

    async def add(self, session: str, jid: str, why: str = "") -> bool:
        """True when the person was not opted out before."""
        return await self.storage.add(optout_key(session, jid), {"at": time.time(), "why": why})

    async def remove(self, session: str, jid: str) -> bool:
        return await self.storage.delete(optout_key(session, jid))


class ListOptOuts:
    """Entries of suppression list files: numbers as written, or JIDs."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.jids = frozenset(j for j in (jid_of(e) for e in entries) if j is not None)

    async def has(self, session: str, jid: str) -> bool:
        return jid in self.jids


class AnyOf:
    """Opted out in any of the sources."""

    def __init__(self, *sources: OptOuts) -> None:
        self.sources = sources

    async def has(self, session: str, jid: str) -> bool:
        for source in self.sources:
            if await source.has(session, jid):
                return True
        return False
