"""Every trigger a rule can list under `if:`, in one registry (`TRIGGERS`).

A trigger kind is the YAML word, the type its value must have (validated by pydantic and shown in
the JSON Schema), and a `compile` that turns the value into a `Check` once, at load time. A check
returns None when the event passes, or a reason in plain words ("chat is group, rule wants
contact") that `dry-run --explain` and the dashboard show. Adding a trigger kind means writing a
compile function with `@register(...)` in the module of its group:

    base.py      the registry, Check, MatchContext, CompileContext, shared helpers
    values.py    the value types ({in: list}, text patterns, hours windows…)
    events.py    on, session
    people.py    chat, chat_id, sender, participant, action, from_me
    text.py      text, contains, contains_anywhere, starts_with, equals
    receipts.py  ack, emoji, removed, media
    hours.py     hours, outside_hours
    state.py     state, expr
    consent.py   subscribed
    polls.py     poll
    handover.py  handover, human_reply

The groups are imported below in the order the reference lists them (docs/reference.md).
"""

from __future__ import annotations

# isort: off
# importing a group registers its triggers: in this order, which the reference and schema keep
from botengine.rules.triggers import events, people, text, receipts, hours, state, consent, polls, handover  # noqa: F401

# isort: on
from botengine.rules.triggers.base import (
    TRIGGERS,
    AsyncCheck,
    Check,
    Compile,
    CompileContext,
    Dimension,
    IndexKey,
    MatchContext,
    SyncCheck,
    TriggerError,
    TriggerKind,
    register,
)
from botengine.rules.triggers.events import type_matcher
from botengine.rules.triggers.people import not_from_me
from botengine.rules.triggers.receipts import media_type, normalize_emoji
from botengine.rules.triggers.state import expression_of

__all__ = [
    "TRIGGERS",
    "AsyncCheck",
    "Check",
    "Compile",
    "CompileContext",
    "Dimension",
    "IndexKey",
    "MatchContext",
    "SyncCheck",
    "TriggerError",
    "TriggerKind",
    "expression_of",
    "media_type",
    "normalize_emoji",
    "not_from_me",
    "register",
    "type_matcher",
]
