"""What the bot remembers and computes: `state` (conversation state) and `expr` (an expression)."""

from __future__ import annotations

from typing import Any

from botengine.errors import ExpressionError
from botengine.expressions import Expression, compile_expression
from botengine.jid import JID_KINDS
from botengine.rules.list_reads import LISTS, ListReadError, expression_list_reads
from botengine.rules.state_reads import SUBSCRIBED, StateReadError, expression_reads
from botengine.rules.triggers.base import (
    Check,
    CompileContext,
    MatchContext,
    TriggerError,
    register,
    short,
)
from botengine.rules.triggers.people import lists_named, sender_on
from botengine.rules.triggers.values import (
    StateMatch,
)
from botengine.state import VARIABLE_OF, Scope


@register(
    "state",
    StateMatch,
    "conversation state set by the set action: {var: value} (null = not set); scope: sender",
    "state: {menu: main}",
)
def _state(value: StateMatch, ctx: CompileContext) -> Check:
    wanted = dict(value)
    written = wanted.pop("scope", "chat")
    if written not in ("chat", "sender"):
        raise TriggerError(
            f"scope {written!r} is not chat or sender", "state is kept per chat (default) or per sender"
        )
    scope: Scope = "sender" if written == "sender" else "chat"
    if not wanted:
        raise TriggerError("no state variable to compare", "write e.g. state: {menu: main}")

    needed = frozenset((scope, var) for var in wanted)

    async def check(m: MatchContext) -> str | None:
        if m.storage is None:
            return "no storage to read state from"
        # through the event's reads: once per event, and what a rule wrote when in a branch
        values = (await m.read_state(needed))[VARIABLE_OF[scope]]
        for var, expected in wanted.items():
            got = values.get(var)
            ok = got in expected if isinstance(expected, list) else got == expected
            if not ok:
                return f"state {var} is {got!r}, rule wants {expected!r}"
        return None

    return Check("state", run_async=check)


@register("expr", str, "a safe expression over the template variables", "expr: len(text) < 200")
def _expr(value: str, ctx: CompileContext) -> Check:
    try:
        expression = compile_expression(value)
    except ExpressionError as exc:
        raise TriggerError(
            str(exc), "expressions are written like Python: len(text) < 200 and chat.kind == 'group'"
        ) from exc

    def verdict(variables: dict[str, Any]) -> str | None:
        if expression.evaluate(variables):
            return None
        return f"expression {short(expression.source)!r} is false"

    try:
        needed = expression_reads(expression)
    except StateReadError as exc:
        raise TriggerError(str(exc), "e.g. expr: state.tries < 3") from exc
    consent = SUBSCRIBED in expression.names
    try:
        listed = lists_named(expression_list_reads(expression), ctx)
    except ListReadError as exc:
        raise TriggerError(str(exc), "e.g. expr: lists.vip or lists.staff") from exc
    if needed or consent or listed:  # reading the store: evaluated with the asynchronous checks

        async def with_state(m: MatchContext) -> str | None:
            read: dict[str, Any] = {SUBSCRIBED: await m.subscribed()} if consent else {}
            if listed:
                read[LISTS] = await sender_on(m, listed)
            return verdict({**m.variables(), **m.groups, **await m.read_state(needed), **read})

        return Check("expr", run_async=with_state)
    return Check("expr", lambda m: verdict({**m.variables(), **m.groups}))


def expression_of(check_value: Any) -> Expression | None:
    """The parsed expression of an `expr:` value, for `check`'s variable-name validation."""
    try:
        return compile_expression(check_value) if isinstance(check_value, str) else None
    except ExpressionError:
        return None


# Names a template or expression may use beyond the event variables: none so far, but `check`
# reads JID_KINDS so a misspelt kind gets a hint.
KNOWN_CHAT_KINDS: tuple[str, ...] = JID_KINDS
