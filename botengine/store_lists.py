"""Lists of people kept in the store: `add_to: vip` and `remove_from: vip` change them, and
`sender: {in: vip}` (chat_id, participant too) reads them, per session (one number's VIPs are
not another's).

    list:<session>␟<name>␟<jid>   → a `Member` record (when, by whom, why, until); expires with it

One key per member: adding and removing are single writes (no read-modify-write race between
two workers), expiry is the store's own TTL, and "is this person on the list?" is one read per
form the person is known by (`…@c.us`, `…@lid`), never a listing. Listings (`members`) scan the
namespace: they are for the dashboard, not for events.

A list is a store list when a rule of the set adds to or removes from it (`written_names`); a
list file of the same name (lists/vip.txt) still counts: its people are on the list too (the
union), and `check` warns that the two are kept apart (add_to never writes the file).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botengine.audience import jid_of
from botengine.jid import phone_jid
from botengine.storage import KeyValue
from botengine.storage.keys import key, split
from botengine.types import JSON

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
NAME_HINT = "a list name is a word of letters, digits, - and _ (up to 64), like vip or no-promo"
# A WhatsApp JID as Wawp writes them: a number, a group id (`120363…`, `447…-1612345678`), a lid.
_JID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,63}@(c\.us|s\.whatsapp\.net|g\.us|lid|newsletter)$")
WHO_HINT = "write a full JID (447700900123@c.us, …@g.us, …@lid) or a phone number (+44 7700 900123)"
RECORD_VERSION = 1
ACTIONS = ("add_to", "remove_from")  # the action words that make a name a store list


class ListNameError(ValueError):
    """A list name or a person that cannot be kept (path characters, odd characters, too long)."""


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ListNameError(f"{_shown(name)} is not a list name; {NAME_HINT}")
    return name


def jid_for(who: str) -> str:
    """`who` as the JID a list keeps: a phone number becomes `…@c.us` (so does NOWEB's
    `447…@s.whatsapp.net`, device and all: one person, one member); ListNameError otherwise."""
    jid = jid_of(who) if isinstance(who, str) and len(who) <= 128 else None
    if jid is None or not _JID.fullmatch(jid):
        raise ListNameError(f"{_shown(who)} is not a phone number or a WhatsApp JID; {WHO_HINT}")
    return phone_jid(jid) or jid


def _shown(value: object) -> str:
    """A value from a rule or a message, safe to put in an error: short, printable."""
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…'"


def member_key(session: str, name: str, jid: str) -> str:
    return key("list", session, name, jid)


@dataclass(frozen=True)
class Member:
    """One person on one list: when they were added, by what (a rule, a dashboard login), why, and
    until when (None: until removed). Stored as a versioned JSON record (`encode`/`decode`)."""

    session: str
    list: str
    jid: str
    at: float
    by: str = ""
    note: str = ""
    until: float | None = None

    @property
    def shown(self) -> str:
        """How a person reads it: a contact's phone number (`+447700900123`), else the JID."""
        user, _, suffix = self.jid.partition("@")
        return f"+{user}" if suffix in ("c.us", "s.whatsapp.net") and user.isdigit() else self.jid

    def encode(self) -> dict[str, JSON]:
        return {"v": RECORD_VERSION, "at": self.at, "by": self.by, "note": self.note, "until": self.until}

    @classmethod
    def decode(cls, storage_key: str, value: Any) -> Member | None:
        """The member a stored key and value hold; None for a record this version cannot read."""
        parts = split(storage_key)
        if len(parts) != 3 or not isinstance(value, dict) or value.get("v") != RECORD_VERSION:
            return None
        until = value.get("until")
        session, name, jid = parts
        return cls(
            session,
            name,
            jid,
            at=float(value.get("at") or 0),
            by=str(value.get("by") or ""),
            note=str(value.get("note") or ""),
            until=float(until) if isinstance(until, int | float) else None,
        )


class StoreLists:
    """The store's lists, one session at a time."""

    def __init__(self, storage: KeyValue) -> None:
        self.storage = storage

    async def add(
        self, session: str, name: str, who: str, *, by: str = "", note: str = "", ttl: float | None = None
    ) -> Member:
        """Put `who` on the list (again: the new expiry and note replace the old)."""
        now = time.time()
        member = Member(
            session, check_name(name), jid_for(who), now, by, note[:500], now + ttl if ttl else None
        )
        await self.storage.put(member_key(session, name, member.jid), member.encode(), ttl=ttl or None)
        return member

    async def remove(self, session: str, name: str, who: str) -> bool:
        """Take `who` off the list; False when they were not on it."""
        return await self.storage.delete(member_key(session, check_name(name), jid_for(who)))

    async def has(self, session: str, name: str, jid: str) -> bool:
        return await self.storage.get(member_key(session, name, jid)) is not None

    async def members(self, session: str | None = None) -> list[Member]:
        """Everyone on every list (of `session`), by session, list and JID."""
        prefix = key("list", session, "") if session is not None else key("list")
        found = (Member.decode(k, v) for k, v in await self.storage.scan(prefix))
        return [m for m in found if m is not None]


def written_names(roots: Iterable[Any]) -> frozenset[str]:
    """The list names the `add_to:` / `remove_from:` actions of these parsed rules files write,
    wherever the actions sit (inside a `later:` or a branch too). Names that are not plain list
    names are left out: the action's own check reports them."""
    names: set[str] = set()
    for root in roots:
        rules = root.get("rules") if isinstance(root, dict) else None
        for rule in rules if isinstance(rules, list) else ():
            if isinstance(rule, dict):
                names.update(_named(rule.get("do")))
    return frozenset(n for n in names if _NAME.fullmatch(n))


def _named(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _named(item)
    elif isinstance(value, dict):
        for word, inner in value.items():
            if word in ACTIONS:
                name = inner.get("list") if isinstance(inner, dict) else inner
                if isinstance(name, str):
                    yield name
            else:
                yield from _named(inner)


def kept_names(specs: Iterable[Any]) -> frozenset[str]:
    """The lists the actions of a loaded rule set write (ActionSpecs, nested ones included)."""
    names: set[str] = set()
    for spec in specs:
        params = spec.params if isinstance(spec.params, dict) else {}
        if spec.kind in ACTIONS and isinstance(params.get("list"), str):
            names.add(params["list"])
        names |= kept_names(spec.nested)
    return frozenset(n for n in names if _NAME.fullmatch(n))
