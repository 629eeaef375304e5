"""Which state variables a rule reads, found at load time, so evaluating it reads only those.

    reply: "Order {{ state.order }} to {{ sender_state.address }}"   → (chat, order), (sender, address)
    expr: state.tries < 3                                             → (chat, tries)

A rule that reads state any other way (`{{ state }}`, `state[name]`) would need every variable
of the chat: `check` refuses it and says to name the variable.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from botengine.errors import ExpressionError, TemplateError
from botengine.expressions import Expression
from botengine.state import SCOPE_OF, Scope
from botengine.templating import field_reads, names_used

StateReads = frozenset[tuple[Scope, str]]
SUBSCRIBED = "subscribed"  # the variable read from the opt-outs, not from the event

NAMED_ONLY = "read state by name: state.order or sender_state.address (not the whole of it)"


class StateReadError(ValueError):
    """A template or expression reads state without naming the variable."""


def template_reads(text: str) -> StateReads:
    found: set[tuple[Scope, str]] = set()
    for variable, scope in SCOPE_OF.items():
        try:
            fields = field_reads(text, variable)
        except TemplateError:
            return frozenset()  # the syntax mistake is reported where templates are checked
        if fields is None:
            raise StateReadError(f"{variable} is read as a whole; {NAMED_ONLY}")
        found.update((scope, name) for name in fields)
    return frozenset(found)


def expression_reads(expression: Expression) -> StateReads:
    found: set[tuple[Scope, str]] = set()
    named: set[int] = set()
    for node in ast.walk(expression.tree):
        target = node.value if isinstance(node, ast.Attribute | ast.Subscript) else None
        if not isinstance(target, ast.Name) or target.id not in SCOPE_OF:
            continue
        if isinstance(node, ast.Attribute):
            field: object = node.attr
        else:
            assert isinstance(node, ast.Subscript)
            field = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if isinstance(field, str):
            found.add((SCOPE_OF[target.id], field))
            named.add(id(target))
    for node in ast.walk(expression.tree):
        if isinstance(node, ast.Name) and node.id in SCOPE_OF and id(node) not in named:
            raise StateReadError(f"{node.id} is read as a whole; {NAMED_ONLY}")
    return frozenset(found)


def strings_reads(strings: Iterable[str]) -> StateReads:
    """What a set of template texts reads together."""
    found: set[tuple[Scope, str]] = set()
    for text in strings:
        found |= template_reads(text)
    return frozenset(found)


def reads_subscribed(texts: Iterable[str]) -> bool:
    """True when one of the templates reads `{{ subscribed }}` (one opt-out read when it fires)."""
    try:
        return any(SUBSCRIBED in names_used(text) for text in texts)
    except TemplateError:
        return False  # the syntax mistake is reported where templates are checked


def reads_state(expression: Expression) -> bool:
    return any(name in SCOPE_OF for name in expression.names)


__all__ = ["ExpressionError", "StateReadError", "StateReads", "expression_reads", "template_reads"]
