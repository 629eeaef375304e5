"""Chats with a person: `handover` (is the chat with a person?) and `human_reply` (an own message
a person typed, not one the bot sent).

    - name: you answered yourself
      on: message.any                 # own messages arrive as message.any
      if: {human_reply: true}
      do: [{handover: {for: 12h, why: "you answered on the phone"}}]

    - name: we will get back to you
      if: {handover: true}            # only while the chat is with a person
      cooldown: 1h
      do: [{reply: "Thanks! A person has your message and will answer here."}]

Which rules run while a chat is with a person: once any rule of the set uses `handover` or
`resume`, every rule that writes to WhatsApp (a `reply`, a `send`, media, a reaction, a question,
also inside `later` or a branch) gets an implicit `handover: false`: the bot is quiet in that
chat. Rules that write `handover: true` or `handover: any`, rules about your own messages
(`human_reply`, `from_me: true`/`any`), and rules that only record (a webhook to the CRM, a
count, state, a log line) are left alone. Without such an action in the set nothing is added:
the check costs nothing. The jobs of a quiet rule (a `later`, a retry) ask again when they run
(`held_back`): a person may have taken the chat since the rule fired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from botengine.actions import ACTIONS, ActionSpec, Capability, capabilities_of
from botengine.handover import Handover, Handovers, SentMessages, is_own_message
from botengine.rules.triggers.base import Check, CompileContext, MatchContext, register
from botengine.rules.triggers.people import not_from_me

if TYPE_CHECKING:
    from botengine.events import EventView
    from botengine.rules.loader import CompiledRule
    from botengine.storage import Storage

_NOT_READ = object()


async def handover_of(m: MatchContext) -> Handover | None:
    """The event's chat's handover, read from the store once per event."""
    found = m.memo.get("handover", _NOT_READ)
    if found is _NOT_READ:
        found = None
        if m.storage is not None and m.view.chat.id:
            found = await Handovers(m.storage).of(m.view.session, m.view.chat, m.now.timestamp())
        m.memo["handover"] = found
    return found if isinstance(found, Handover) else None


def _since(record: Handover) -> str:
    def at(ts: float) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")

    why = f" ({record.why})" if record.why else ""
    return f"the chat is with a person since {at(record.since)}{why}, until {at(record.until)}"


async def quiet_during_handover(m: MatchContext) -> str | None:
    """The implicit `handover: false` of a set that uses handovers."""
    record = await handover_of(m)
    if record is None:
        return None
    return _since(record) + " (add handover: any to run the rule anyway)"


async def held_back(
    rule: CompiledRule | None, view: EventView, storage: Storage, now: datetime | None
) -> str | None:
    """Why a job of `rule` (a `later` follow-up, a retry) must not run now: the rule is one the
    handover keeps quiet and its chat is with a person, handed over by something other than this
    run (a rule that hands over and then replies still replies on its retry). None: it may run."""
    if rule is None or not view.chat.id:
        return None
    if not any(check.run_async is quiet_during_handover for check in rule.checks):
        return None
    at = now.timestamp() if now is not None else None
    record = await Handovers(storage).of(view.session, view.chat, at)
    if record is None or record.event_id == view.id:  # its own handover: its retry, its later
        return None
    return _since(record)


@register(
    "handover",
    bool | Literal["any"],
    "is the chat with a person (handed over)? true: only then; false: only when not; any: both",
    "handover: true",
)
def _handover(value: bool | Literal["any"], ctx: CompileContext) -> Check:
    if value == "any":
        return Check("handover", lambda m: None)
    if value is False:
        return Check("handover", run_async=quiet_during_handover)

    async def check(m: MatchContext) -> str | None:
        return None if await handover_of(m) is not None else "the chat is not with a person"

    return Check("handover", run_async=check)


@register(
    "human_reply",
    bool,
    "your own message typed by a person (on the phone or WhatsApp Web), not one the bot sent",
    "human_reply: true",
)
def _human_reply(value: bool, ctx: CompileContext) -> Check:
    async def check(m: MatchContext) -> str | None:
        human = (
            is_own_message(m.view)
            and m.storage is not None
            and not await SentMessages(m.storage).by_bot(m.view)
        )
        if human == value:
            return None
        if human:
            return "a person typed this own message"
        if not is_own_message(m.view):
            return "the event is not your own message in a chat"
        return "the bot sent this message"

    return Check("human_reply", run_async=check)


def _writes(specs: Sequence[ActionSpec]) -> bool:
    """Whether any of the actions (or those nested in them) writes to WhatsApp."""
    for spec in specs:
        kind = ACTIONS.get(spec.kind)
        if (kind is not None and kind.sends) or _writes(spec.nested):
            return True
    return False


def _exempt(rule: CompiledRule) -> bool:
    """Rules that say what they want during a handover, are about your own messages, or only
    record (nothing they do is heard in the chat)."""
    if not _writes(rule.actions):
        return True
    for check in rule.checks:
        if check.trigger in ("handover", "human_reply"):
            return True
        if check.trigger == "from_me" and check.run is not not_from_me:
            return True
    return False


def quiet_during_handovers(rules: Sequence[CompiledRule]) -> list[CompiledRule]:
    """The rules, each given the implicit `handover: false` when the set uses handovers."""
    if Capability.HANDOVER not in capabilities_of(spec for rule in rules for spec in rule.actions):
        return list(rules)
    gate = Check("handover", run_async=quiet_during_handover)
    return [rule if _exempt(rule) else replace(rule, checks=(*rule.checks, gate)) for rule in rules]
