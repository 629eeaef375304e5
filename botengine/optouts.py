"""Who asked not to get messages: the store's opt-outs, and suppression lists beside the rules.

    opted out          people who wrote STOP: the `opt_out` action (or the built-in STOP keyword,
                       botengine/keywords.py) puts them in the store, per session
    lists/optout.txt   numbers or JIDs an operator keeps by hand for broadcasts (and `suppress:`
                       names others)

Every action that sends asks the store before it writes to a person (actions/consent.py); a
broadcast asks `OptOuts.has(session, jid)` before each person, so a STOP received while a
campaign runs takes effect for the people not yet reached (suppression files are read when a run
starts or resumes). Any other source (a CRM's list, store-backed lists) drops in as another
`OptOuts`.

A person is kept under every JID the event knew them by (`…@c.us` and `…@lid`), each in its
`@c.us` spelling for phone numbers, so a send to either form finds the opt-out in one read. A
form learnt after the STOP is covered by asking every form the event knows them by (`has_any`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from botengine.audience import jid_of
from botengine.jid import jid_kind, phone_jid
from botengine.storage import Storage
from botengine.storage.keys import key

PERSON_KINDS = frozenset({"contact", "lid"})
"""JIDs that name one person: opt-out is per person, so a group, a channel or Status never is."""


class OptOuts(Protocol):
    async def has(self, session: str, jid: str) -> bool: ...


def canonical(jid: str) -> str:
    """The spelling a person's opt-out is kept under (`447…@s.whatsapp.net` is `447…@c.us`)."""
    return phone_jid(jid) or jid


def is_person(jid: str) -> bool:
    return jid_kind(jid) in PERSON_KINDS


def optout_key(session: str, jid: str) -> str:
    return key("optout", session, canonical(jid))


class StoreOptOuts:
    """Opt-outs kept in the store, per session (one number's customers are not another's)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def has(self, session: str, jid: str) -> bool:
        return await self.storage.get(optout_key(session, jid)) is not None

    async def has_any(self, session: str, forms: Iterable[str]) -> bool:
        """Whether the person known by `forms` opted out under any of them (a STOP kept when only
        their phone was known still holds when they write from their @lid, and back)."""
        for jid in _distinct(forms):
            if await self.has(session, jid):
                return True
        return False

    async def add(self, session: str, jid: str, why: str = "") -> bool:
        """True when the person was not opted out before."""
        return await self.storage.add(optout_key(session, jid), {"at": time.time(), "why": why})

    async def remove(self, session: str, jid: str) -> bool:
        return await self.storage.delete(optout_key(session, jid))

    async def add_person(self, session: str, forms: Iterable[str], why: str = "") -> bool:
        """Opt out a person known by `forms` (their JIDs); True when none of them was out before."""
        added = [await self.add(session, jid, why) for jid in _distinct(forms)]
        return all(added)

    async def remove_person(self, session: str, forms: Iterable[str]) -> bool:
        """Opt a person in again under every form; True when one of them was out."""
        removed = [await self.remove(session, jid) for jid in _distinct(forms)]
        return any(removed)


def _distinct(forms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(canonical(jid) for jid in forms if jid))


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
