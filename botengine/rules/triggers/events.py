"""Which events: `on` (the event type) and `session` (the Wawp instance)."""

from __future__ import annotations

from collections.abc import Callable

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
)
from botengine.rules.triggers.values import Words


def type_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """`message`, `message.*`, `group.*`, `*`: exact words or shell-style wildcards."""
    return glob_matcher(patterns)


@register("on", Words, "the event type, a list of them, or a wildcard", "on: [message, message.*]")
def _on(value: Words, ctx: CompileContext) -> Check:
    patterns = as_list(value)
    for pattern in patterns:
        if not pattern:
            raise TriggerError("an empty event type", "write e.g. message or message.*")
    matches = type_matcher(patterns)
    wanted = ", ".join(patterns)

    def check(m: MatchContext) -> str | None:
        return None if matches(m.view.type) else f"event is {m.view.type}, rule wants {wanted}"

    return Check("on", check)


SESSION = Dimension("session", lambda view: (view.session,))  # for the rule index (rules/index.py)


@register("session", Words, "the Wawp instance (name, list or wildcard)", "session: acme_main")
def _session(value: Words, ctx: CompileContext) -> Check:
    patterns = as_list(value)
    matches = type_matcher(patterns)
    wanted = ", ".join(patterns)

    def check(m: MatchContext) -> str | None:
        return None if matches(m.view.session) else f"session is {m.view.session}, rule wants {wanted}"

    exact = not any(is_glob(p) for p in patterns)
    return Check("session", check, index=IndexKey(SESSION, frozenset(patterns)) if exact else None)
