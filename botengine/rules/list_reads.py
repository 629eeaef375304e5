"""Which lists a rule's templates and `expr:` read as `lists.NAME`, found at load time, so that
evaluating it asks only about those (like state reads, rules/state_reads.py).

    reply: "{% if lists.vip %}Welcome back!{% else %}Hello!{% endif %}"   → {vip}
    expr: lists.vip or lists.staff                                          → {vip, staff}

`lists.NAME` is true when the sender is on the list NAME: a list file, a list the bot keeps
(`add_to: NAME`), or both. `lists` on its own or `lists[some_name]` would need every list: `check`
refuses it and says to name the list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Set
from typing import TYPE_CHECKING

from botengine import store_lists
from botengine.actions import ActionSpec
from botengine.errors import TemplateError
from botengine.expressions import Expression, fields_read
from botengine.rules.problems import Problem, did_you_mean
from botengine.templating import field_reads

if TYPE_CHECKING:
    from botengine.rules.loader import CompiledRule

LISTS = "lists"
NAMED_ONLY = "read a list by its name: lists.vip (true when the sender is on it)"


class ListReadError(ValueError):
    """A template or expression reads `lists` without naming the list."""


def template_list_reads(texts: Iterable[str]) -> frozenset[str]:
    found: set[str] = set()
    for text in texts:
        try:
            names = field_reads(text, LISTS)
        except TemplateError:
            continue  # the syntax mistake is reported where templates are checked
        if names is None:
            raise ListReadError(f"lists is read as a whole; {NAMED_ONLY}")
        found |= names
    return frozenset(found)


def expression_list_reads(expression: Expression) -> frozenset[str]:
    if LISTS not in expression.names:
        return frozenset()
    nodes = list(ast.walk(expression.tree))
    uses = sum(isinstance(n, ast.Name) and n.id == LISTS for n in nodes)
    if uses > sum(_named_read(n) for n in nodes):  # `lists` somewhere other than lists.NAME
        raise ListReadError(f"lists is read as a whole; {NAMED_ONLY}")
    return frozenset(name for variable, name in fields_read(expression) if variable == LISTS)


def _named_read(node: ast.AST) -> bool:
    """`lists.NAME` or `lists['NAME']`."""
    if not isinstance(node, ast.Attribute | ast.Subscript) or not isinstance(node.value, ast.Name):
        return False
    if node.value.id != LISTS:
        return False
    return isinstance(node, ast.Attribute) or (
        isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)
    )


def unread_lists(rules: Iterable[CompiledRule], unread: Set[str], known: Set[str]) -> list[Problem]:
    """A warning at the first `add_to:` / `remove_from:` of each list no rule reads: most likely
    a misspelt name (`add_to: vpi` beside `sender: {in: vip}`), which would keep people for nothing."""
    found: list[Problem] = []
    for spec in _specs(spec for rule in rules for spec in rule.actions):
        name = spec.params.get("list") if isinstance(spec.params, dict) else None
        if spec.kind not in store_lists.ACTIONS or not isinstance(name, str) or name not in unread:
            continue
        unread = unread - {name}
        path, _, line = spec.location.rpartition(":")
        hint = did_you_mean(name, known) or f"read it with sender: {{in: {name}}}, or lists.{name}"
        message = f"no rule reads the list {name!r} that {spec.kind} keeps"
        found.append(Problem(path, int(line) if line.isdigit() else 1, 1, message, hint, "warning"))
    return found


def _specs(specs: Iterable[ActionSpec]) -> Iterator[ActionSpec]:
    for spec in specs:
        yield spec
        yield from _specs(spec.nested)
