"""Delivery receipts, reactions and media: `ack`, `emoji`, `removed`, `media`."""

from __future__ import annotations

import re
from collections.abc import Callable

from botengine.events import ACK_LEVELS, ACK_NAMES
from botengine.rules.globs import glob_matcher
from botengine.rules.triggers.base import (
    Check,
    CompileContext,
    Dimension,
    IndexKey,
    MatchContext,
    TriggerError,
    as_list,
    register,
)
from botengine.rules.triggers.values import (
    Words,
)

_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*(-?\d+|[a-z]+)\s*$")
_OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


# What the rule index looks up for these triggers (rules/index.py). An event's ack is one of
# ACK_NAMES or None (events.py reads nothing else), so a comparison is the levels it holds for.
ACK = Dimension("ack", lambda view: (view.ack,) if view.ack is not None else ())
EMOJI = Dimension(
    "emoji",
    lambda view: (
        (normalize_emoji(view.reaction.emoji),) if view.reaction and not view.reaction.removed else ()
    ),
)


@register(
    "ack",
    int | str,
    "delivery level: a name, a number, or a comparison like '>= delivered'",
    "ack: '>= read'",
    needs="ack",
)
def _ack(value: int | str, ctx: CompileContext) -> Check:
    found = _COMPARISON.match(str(value).lower())
    levels = ", ".join(ACK_NAMES.values())
    if not found:
        raise TriggerError(
            f"{value!r} is not an ack level", f"write a level ({levels}) or a comparison like '>= delivered'"
        )
    op, word = found.group(1) or "==", found.group(2)
    level = int(word) if word.lstrip("-").isdigit() else ACK_LEVELS.get(word)
    if level is None or level not in ACK_NAMES:
        from botengine.rules.problems import did_you_mean

        raise TriggerError(
            f"{word!r} is not an ack level", did_you_mean(word, ACK_LEVELS) or f"levels: {levels}"
        )
    compare, wanted = _OPS[op], f"{op} {ACK_NAMES[level]}".replace("== ", "")

    def check(m: MatchContext) -> str | None:
        ack = m.view.ack
        if ack is not None and compare(ack, level):
            return None
        return f"ack is {m.view.ack_name or '(none)'}, rule wants {wanted}"

    holds_for = frozenset(a for a in ACK_NAMES if compare(a, level))
    return Check("ack", check, index=IndexKey(ACK, holds_for))


# Emoji variants that mean the same reaction: the emoji-style variation selector (❤ vs ❤️) and
# skin-tone modifiers (👍🏽 vs 👍).
_EMOJI_NOISE = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")


def normalize_emoji(emoji: str) -> str:
    return _EMOJI_NOISE.sub("", emoji).strip()


@register(
    "emoji",
    Words,
    "a reaction emoji or a list; skin tones and ❤/❤️ variants match",
    "emoji: ['❤', '👍']",
    needs="reaction",
)
def _emoji(value: Words, ctx: CompileContext) -> Check:
    wanted = {normalize_emoji(e) for e in as_list(value)}
    if not all(wanted):
        raise TriggerError("an empty emoji", "to react to removed reactions, use removed: true")
    label = " or ".join(sorted(wanted))

    def check(m: MatchContext) -> str | None:
        reaction = m.view.reaction
        if reaction is None:
            return "the event is not a reaction"
        if reaction.removed:
            return "the reaction was removed"
        got = normalize_emoji(reaction.emoji)
        return None if got in wanted else f"emoji is {reaction.emoji}, rule wants {label}"

    return Check("emoji", check, index=IndexKey(EMOJI, frozenset(wanted)))


@register(
    "removed", bool, "true: a reaction was taken back; false: it was not", "removed: true", needs="reaction"
)
def _removed(value: bool, ctx: CompileContext) -> Check:
    def check(m: MatchContext) -> str | None:
        reaction = m.view.reaction
        if reaction is None:
            return "the event is not a reaction"
        if reaction.removed == value:
            return None
        return "the reaction was removed" if reaction.removed else "the reaction was not removed"

    return Check("removed", check)


def media_type(mimetype: str) -> str:
    """`audio/ogg; codecs=opus` → `audio/ogg`: the type without its parameters, lower case."""
    return mimetype.partition(";")[0].strip().lower()


@register(
    "media",
    bool | str,
    "true/false, or a mimetype pattern like image/* (parameters such as ; codecs=opus ignored)",
    "media: image/*",
    needs="media",
)
def _media(value: bool | str, ctx: CompileContext) -> Check:
    if isinstance(value, bool):

        def has(m: MatchContext) -> str | None:
            if (m.view.media is not None) == value:
                return None
            return "the message has media" if m.view.media else "the message has no media"

        return Check("media", has)
    matches = glob_matcher([media_type(value)])

    def check(m: MatchContext) -> str | None:
        mimetype = (m.view.media.mimetype or "") if m.view.media else ""
        if mimetype and matches(media_type(mimetype)):
            return None
        return f"media type is {mimetype or '(none)'}, rule wants {value}"

    return Check("media", check)
