"""Chats and people: `chat`, `chat_id`, `sender`, `participant`, `action`, `from_me`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from botengine.events import GROUP_ACTIONS, EventView, Member, Party
from botengine.jid import JidKind
from botengine.rules.globs import glob_matcher, is_glob
from botengine.rules.triggers.base import (
    Check,
    CompileContext,
    Dimension,
    IndexKey,
    MatchContext,
    TriggerError,
    as_list,
    register,
    short,
)
from botengine.rules.triggers.values import (
    GroupAction,
    InList,
    JidMatch,
    NotInList,
)


def _member_forms(view: EventView) -> Iterable[str]:
    members = view.group.members if view.group else ()
    return {f for p in members for f in (p.id, p.phone, p.lid) if f}


# What the rule index looks up for these triggers (rules/index.py), read as each check reads it.
CHAT_KIND = Dimension("chat kind", lambda view: (view.chat.kind,))
CHAT = Dimension("chat", lambda view: view.chat.forms if view.chat.id else ())
SENDER = Dimension("sender", lambda view: view.sender.forms if view.sender else ())
PARTICIPANT = Dimension("participant", _member_forms)
GROUP_ACTION = Dimension("group action", lambda view: (view.group.action,) if view.group else ())


@register(
    "chat",
    JidKind | list[JidKind],
    "kind of chat: contact, group, channel, lid, broadcast, status",
    "chat: contact",
    needs="chat",
)
def _chat(value: JidKind | list[JidKind], ctx: CompileContext) -> Check:
    kinds = set(as_list(value))
    wanted = " or ".join(sorted(kinds))

    def check(m: MatchContext) -> str | None:
        kind = m.view.chat.kind
        return None if kind in kinds else f"chat is {kind}, rule wants {wanted}"

    return Check("chat", check, index=IndexKey(CHAT_KIND, frozenset(kinds)))


JidMatcher = Callable[[Iterable[str]], bool]


@dataclass(frozen=True)
class PeopleMatch:
    """Who a `sender:` / `chat_id:` / `participant:` value names.

    `matches` is given every form a person is known by (`…@c.us` and `…@lid`) and holds when one
    of them is named, whichever form the rule or the list was written in; `negated` for `not_in:`.
    `exact` is the JIDs for the rule index, when every entry is exact and nothing is read from
    the store. `stored` names a store list (store_lists.py) read per event on top of the entries:
    such a rule cannot be in the index (the store changes between events), so it is checked with
    the asynchronous checks, after the rule's other triggers held.
    """

    matches: JidMatcher
    label: str
    exact: frozenset[str] | None
    stored: str | None = None
    negated: bool = False

    def holds(self, forms: Iterable[str]) -> bool:
        return self.matches(forms) != self.negated

    async def holds_now(self, m: MatchContext, forms: tuple[str, ...]) -> bool:
        inside = self.matches(forms)
        if not inside and self.stored is not None:
            inside = await m.on_store_list(self.stored, forms)
        return inside != self.negated


def _jid_patterns(value: Any, ctx: CompileContext, what: str) -> PeopleMatch:
    """The people `value` names: full JIDs or glob patterns of them, or a list (`in:`, `not_in:`)."""
    if isinstance(value, NotInList):
        inside = _jid_patterns(InList(**{"in": value.not_in}), ctx, what)
        label = f"outside list {value.not_in!r}"
        return PeopleMatch(inside.matches, label, None, inside.stored, negated=True)
    stored = None
    if isinstance(value, InList):
        named, kept = ctx.people_list(value.in_)
        stored = value.in_ if kept else None
        entries = list(named.entries)
        label = f"in list {value.in_!r}"
        for entry in entries:
            if "@" not in entry:
                # named by its line, never quoted: a list file may hold anything
                raise TriggerError(
                    f"line {named.line_of(entry)} of {named.name} is not a full JID",
                    "every line is a full JID: 447700900123@c.us for a contact, …@g.us for a group",
                )
    else:
        entries = as_list(value)
        label = ", ".join(entries)
    for entry in entries:
        if "@" not in entry:
            raise TriggerError(
                f"{what} {entry!r} is not a full JID",
                f"write {entry}@c.us for a contact or {entry}@g.us for a group; a contact and a group "
                "can share digits",
            )
    one = glob_matcher(entries)

    def matches(forms: Iterable[str]) -> bool:
        return any(one(jid) for jid in forms)

    exact = None if stored or any(is_glob(e) for e in entries) else frozenset(entries)
    return PeopleMatch(matches, short(label, 60), exact, stored)


def _one_party(
    trigger: str, people: PeopleMatch, dimension: Dimension, party_of: Callable[[EventView], Party | None]
) -> Check:
    """The check of a trigger about one party of the event (its chat, its sender; None: it has none)."""

    def why_not(party: Party | None) -> str:
        return f"{trigger.replace('_id', '')} {_who(party)} is not {people.label}"

    if people.stored is None:

        def check(m: MatchContext) -> str | None:
            party = party_of(m.view)
            return None if party is not None and people.holds(party.forms) else why_not(party)

        return Check(trigger, check, index=_jid_key(dimension, people.exact))

    async def check_stored(m: MatchContext) -> str | None:
        party = party_of(m.view)
        held = party is not None and await people.holds_now(m, party.forms)
        return None if held else why_not(party)

    return Check(trigger, run_async=check_stored)


ListReads = tuple[tuple[str, "PeopleMatch"], ...]  # (name, who is on it) of each `lists.NAME` read


def lists_named(names: Iterable[str], ctx: CompileContext) -> ListReads:
    """`lists.NAME` of templates and `expr:` (rules/list_reads.py): how to tell whether the
    sender is on each; TriggerError for a name that is no list."""
    return tuple((name, _jid_patterns(InList(**{"in": name}), ctx, "lists")) for name in sorted(names))


async def sender_on(m: MatchContext, lists: ListReads) -> dict[str, bool]:
    """The value of `lists` for one event: whether its sender is on each list named."""
    forms = m.view.sender.forms if m.view.sender else ()
    return {name: await people.holds_now(m, forms) for name, people in lists}


def _jid_key(dimension: Dimension, exact: frozenset[str] | None) -> IndexKey | None:
    return None if exact is None else IndexKey(dimension, frozenset(exact))


def _who(party: Party | None) -> str:
    return party.shown if party is not None and party.id else "(none)"


@register(
    "chat_id",
    JidMatch,
    "the chat's full JID, a glob like 4474*@c.us, or {in: list}",
    "chat_id: 120363025912345678@g.us",
    needs="chat",
)
def _chat_id(value: JidMatch, ctx: CompileContext) -> Check:
    people = _jid_patterns(value, ctx, "chat_id")
    return _one_party("chat_id", people, CHAT, lambda view: view.chat if view.chat.id else None)


@register(
    "sender", JidMatch, "the sender's full JID, a glob, or {in: list}", "sender: {in: vip}", needs="sender"
)
def _sender(value: JidMatch, ctx: CompileContext) -> Check:
    return _one_party("sender", _jid_patterns(value, ctx, "sender"), SENDER, lambda view: view.sender)


def _forms(person: Member) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for f in (person.id, person.phone, person.lid) if f))


@register(
    "participant",
    JidMatch,
    "a person a group event is about (JID, glob or {in: list})",
    "participant: '44*@c.us'",
    needs="participants",
)
def _participant(value: JidMatch, ctx: CompileContext) -> Check:
    people = _jid_patterns(value, ctx, "participant")

    def verdict(m: MatchContext, chosen: list[str]) -> str | None:
        # the rule is about the people who matched: `participants` (and `remove`) mean them, in
        # the form the event gave them
        if chosen:
            m.groups.update(participants=chosen, participant=chosen[0])
            return None
        members = m.view.group.members if m.view.group else ()
        shown = ", ".join(p.id + (f" ({p.phone})" if p.phone and p.phone != p.id else "") for p in members)
        return f"participants {shown or '(none)'} are not {people.label}"

    def members(m: MatchContext) -> tuple[Member, ...]:
        return m.view.group.members if m.view.group else ()

    if people.stored is None:

        def check(m: MatchContext) -> str | None:
            return verdict(m, [p.id for p in members(m) if people.holds(_forms(p))])

        return Check("participant", check, index=_jid_key(PARTICIPANT, people.exact))

    async def check_stored(m: MatchContext) -> str | None:
        return verdict(m, [p.id for p in members(m) if await people.holds_now(m, _forms(p))])

    return Check("participant", run_async=check_stored)


@register(
    "action",
    GroupAction | list[GroupAction],
    "what happened in a group: join, leave, promote, demote, update (subject, description…)",
    "action: join",
    needs="group",
)
def _action(value: GroupAction | list[GroupAction], ctx: CompileContext) -> Check:
    actions = set(as_list(value))
    assert actions <= set(GROUP_ACTIONS)  # the type above only lets these through
    wanted = " or ".join(sorted(actions))

    def check(m: MatchContext) -> str | None:
        action = m.view.group.action if m.view.group else None
        return None if action in actions else f"group action is {action or '(none)'}, rule wants {wanted}"

    return Check("action", check, index=IndexKey(GROUP_ACTION, frozenset(actions)))


@register(
    "from_me",
    bool | Literal["any"],
    "own messages: ignored unless a rule says from_me: true (or any)",
    "from_me: true",
)
def _from_me(value: bool | Literal["any"], ctx: CompileContext) -> Check:
    if value == "any":
        return Check("from_me", lambda m: None)

    def check(m: MatchContext) -> str | None:
        if m.view.from_me == value:
            return None
        return "the event is our own message" if m.view.from_me else "the event is not our own message"

    return Check("from_me", check)


def not_from_me(m: MatchContext) -> str | None:
    """The default when a rule does not list `from_me`: a bot must not answer itself.

    Delivery receipts (`message.ack`, `message.ack.group`) are always about our own messages, so
    they are exempt.
    """
    if m.view.from_me and not m.view.type.startswith("message.ack"):
        return "the event is our own message (add from_me: true to match it)"
    return None
