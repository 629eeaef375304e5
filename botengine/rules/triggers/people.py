"""Chats and people: `chat`, `chat_id`, `sender`, `participant`, `action`, `from_me`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from botengine.events import GROUP_ACTIONS, EventView, Party
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


def _jid_patterns(
    value: Any, ctx: CompileContext, what: str
) -> tuple[JidMatcher, str, frozenset[str] | None]:
    """A matcher for full JIDs or glob patterns of them; lists come from `in:` (or `not_in:`).

    It is given every form a person is known by (`…@c.us` and `…@lid`): `in:` holds when one of
    them is listed, `not_in:` when none is, whichever form the rule or the list was written in.
    The third part is the JIDs for the rule index: the entries when every one is exact.
    """
    if isinstance(value, NotInList):
        inside, _, _ = _jid_patterns(InList(**{"in": value.not_in}), ctx, what)
        return (lambda forms: not inside(forms)), f"outside list {value.not_in!r}", None
    if isinstance(value, InList):
        named = ctx.named_list(value.in_)
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

    exact = None if any(is_glob(e) for e in entries) else frozenset(entries)
    return matches, short(label, 60), exact


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
    matches, label, exact = _jid_patterns(value, ctx, "chat_id")

    def check(m: MatchContext) -> str | None:
        chat = m.view.chat
        return None if chat.id and matches(chat.forms) else f"chat {_who(chat)} is not {label}"

    return Check("chat_id", check, index=_jid_key(CHAT, exact))


@register(
    "sender", JidMatch, "the sender's full JID, a glob, or {in: list}", "sender: {in: vip}", needs="sender"
)
def _sender(value: JidMatch, ctx: CompileContext) -> Check:
    matches, label, exact = _jid_patterns(value, ctx, "sender")

    def check(m: MatchContext) -> str | None:
        sender = m.view.sender
        return None if sender and matches(sender.forms) else f"sender {_who(sender)} is not {label}"

    return Check("sender", check, index=_jid_key(SENDER, exact))


@register(
    "participant",
    JidMatch,
    "a person a group event is about (JID, glob or {in: list})",
    "participant: '44*@c.us'",
    needs="participants",
)
def _participant(value: JidMatch, ctx: CompileContext) -> Check:
    matches, label, exact = _jid_patterns(value, ctx, "participant")

    def check(m: MatchContext) -> str | None:
        members = m.view.group.members if m.view.group else ()
        # the rule is about the people who matched: `participants` (and `remove`) mean them, in
        # the form the event gave them
        chosen = [p.id for p in members if matches(dict.fromkeys(f for f in (p.id, p.phone, p.lid) if f))]
        if chosen:
            m.groups.update(participants=chosen, participant=chosen[0])
            return None
        people = ", ".join(p.id + (f" ({p.phone})" if p.phone and p.phone != p.id else "") for p in members)
        return f"participants {people or '(none)'} are not {label}"

    return Check("participant", check, index=_jid_key(PARTICIPANT, exact))


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
