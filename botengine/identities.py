"""Who is who: a person's phone-number JID and their privacy-masked `@lid`, kept together.

WhatsApp shows some people as `…@lid` instead of their number, and the same person may arrive one
way in one event and the other way in the next. Events that carry both teach the pair (a group
participant's `{"id": "…@lid", "pn": "…@c.us"}`, an engine's `participantAlt`/`remoteJidAlt`,
`me.lid`); it is kept in the store both ways, so a later event that names only one form still
matches a rule, or a list, written with the other (`sender: {in: vip}` with phone numbers).

    event ─► view (the pairs it carries) ─► learn them (not in dry-run) ─► fill in the other form
             of the chat, the sender and group members from what was learned before ─► rules

A small memory in the process spares the store the pairs it has already written or read; a form
found unknown is asked again after a minute (another worker may have learned it since). The
store failing costs the other forms for that event, never the event.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable

from botengine.errors import StorageError
from botengine.event_parts import Member
from botengine.events import EventView, Party
from botengine.jid import jid_kind, phone_jid
from botengine.storage import KeyValue
from botengine.storage.keys import key

log = logging.getLogger(__name__)

KEEP = 400 * 86400.0  # a pair is refreshed whenever an event carries it again
_UNKNOWN_FOR = 60.0  # seconds a form found unknown is not asked about again
_MEMORY = 10_000


def lid_key(lid: str) -> str:
    """lid → the phone number's JID."""
    return key("identity", "lid", lid)


def phone_key(phone: str) -> str:
    """phone number's JID → lid."""
    return key("identity", "phone", phone)


class Identities:
    """The lid ↔ phone pairs an engine has seen; `learn=False` (dry runs) only reads them."""

    def __init__(self, store: KeyValue, *, learn: bool = True) -> None:
        self.store = store
        self.learn = learn
        self._known: OrderedDict[str, str] = OrderedDict()  # either form → the other
        self._unknown: dict[str, float] = {}  # form → when it was found unknown

    async def complete(self, view: EventView) -> EventView:
        """The view with both forms of its chat, sender and group members where known."""
        try:
            if self.learn:
                await self._learn(view.aliases)
            wanted = {f for f in _people(view) if f not in self._known}
            await self._recall(wanted)
        except StorageError as exc:
            log.warning("lid/phone pairs unavailable for this event: %s", exc)
        return self._filled(view)

    async def _learn(self, pairs: Iterable[tuple[str, str]]) -> None:
        for lid, phone in pairs:
            if self._known.get(lid) == phone and self._known.get(phone) == lid:
                continue  # written already (by this process); the store keeps it for KEEP
            await self.store.put(lid_key(lid), phone, ttl=KEEP)
            await self.store.put(phone_key(phone), lid, ttl=KEEP)
            self._remember(lid, phone)

    async def _recall(self, forms: set[str]) -> None:
        now = time.monotonic()
        for form in sorted(forms):
            if now - self._unknown.get(form, -_UNKNOWN_FOR) < _UNKNOWN_FOR:
                continue
            found = await self.store.get(lid_key(form) if jid_kind(form) == "lid" else phone_key(form))
            if isinstance(found, str) and found:
                self._remember(*((form, found) if jid_kind(form) == "lid" else (found, form)))
            else:
                self._unknown[form] = now
                if len(self._unknown) > _MEMORY:
                    self._unknown.clear()

    def _remember(self, lid: str, phone: str) -> None:
        for one, other in ((lid, phone), (phone, lid)):
            self._known[one] = other
            self._known.move_to_end(one)
        while len(self._known) > _MEMORY:
            self._known.popitem(last=False)

    def _other(self, jid: str) -> tuple[str | None, str | None]:
        """(phone, lid) of a person's JID, as far as known."""
        phone = phone_jid(jid)
        if jid_kind(jid) == "lid":
            return self._known.get(jid), jid
        return phone, self._known.get(phone) if phone else None

    def _more(self, jid: str, phone: str | None, lid: str | None) -> tuple[str | None, str | None] | None:
        """(phone, lid) when more is known of `jid` than the event gave; None when nothing is."""
        known_phone, known_lid = self._other(jid)
        found = (phone or known_phone, lid or known_lid)
        return None if found == (phone, lid) else found

    def _party(self, party: Party | None) -> Party | None:
        if party is None or party.kind not in ("contact", "lid"):
            return party
        more = self._more(party.id, party.phone, party.lid)
        return party if more is None else dataclasses.replace(party, phone=more[0], lid=more[1])

    def _member(self, member: Member) -> Member:
        more = self._more(member.id, member.phone, member.lid)
        return member if more is None else dataclasses.replace(member, phone=more[0], lid=more[1])

    def _filled(self, view: EventView) -> EventView:
        chat, sender = self._party(view.chat), self._party(view.sender)
        group = view.group
        if group is not None:
            members = tuple(self._member(m) for m in group.members)
            if any(new is not old for new, old in zip(members, group.members, strict=True)):
                group = dataclasses.replace(group, members=members)
        if chat is view.chat and sender is view.sender and group is view.group:
            return view
        assert chat is not None
        return dataclasses.replace(view, chat=chat, sender=sender, group=group)


def _people(view: EventView) -> set[str]:
    """The JIDs of the view's people whose other form the event did not give."""
    forms: set[str] = set()
    for party in (view.chat, view.sender):
        if party is not None and party.kind in ("contact", "lid") and not (party.phone and party.lid):
            forms.add(party.lid or party.phone or party.id)
    for member in view.group.members if view.group else ():
        if not (member.phone and member.lid):
            forms.add(member.lid or member.phone or member.id)
    return {f for f in forms if jid_kind(f) in ("contact", "lid")}
