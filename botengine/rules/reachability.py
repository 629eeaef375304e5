"""Rules that can never fire, found by `check` from what their event types carry.

    on: mesage                      → no such event type (did you mean 'message'?)
    on: message + ack: read         → message events never carry a delivery level
    on: session.status + reply: …   → session.status events have no chat to reply to
    on: group.v2.leave + remove: {} → the people have already left
    expr: text.upper() == 'HI'      → a method call fails at every evaluation

Each finding is a warning, not an error: a rule that cannot fire harms nothing, and a new event
type may carry more than this catalogue knows. Only event types in the catalogue are judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botengine.actions import ACTIONS
from botengine.errors import ExpressionError
from botengine.event_types import CARRY_WORDS, EVENT_TYPES, Carry
from botengine.expressions import compile_expression, method_calls
from botengine.rules.globs import glob_matcher, is_glob
from botengine.rules.problems import did_you_mean
from botengine.rules.triggers import TRIGGERS

_LEAVE_TYPES = frozenset({"group.v2.leave", "group.leave"})


@dataclass(frozen=True)
class Finding:
    """A warning about one place of a rule: `path` leads from the rule to it (for file:line)."""

    path: tuple[Any, ...]
    message: str
    hint: str = ""
    key: bool = False


@dataclass(frozen=True)
class _Types:
    """The catalogued event types a rule's `on:` can meet; `complete` is False when some of its
    patterns name types the catalogue does not know (then nothing is judged by what they carry)."""

    names: tuple[str, ...]
    complete: bool

    def carry(self, what: Carry) -> bool:
        return not self.complete or any(what in EVENT_TYPES[name].carries for name in self.names)

    def label(self) -> str:
        shown = ", ".join(self.names[:4]) + (", …" if len(self.names) > 4 else "")
        return f"{shown} events"


def findings(on: tuple[str, ...], triggers: Mapping[str, Any], actions: list[Any]) -> list[Finding]:
    """Every reason the rule (its `on:`, its `if:` as written, its `do:` items) can never fire."""
    found, types = _event_types(on)
    found += _triggers(types, triggers)
    found += _actions(types, triggers, actions)
    if isinstance(triggers.get("expr"), str):
        found += _expression(triggers["expr"])
    return found


def _event_types(on: tuple[str, ...]) -> tuple[list[Finding], _Types]:
    found: list[Finding] = []
    names: set[str] = set()
    complete = True
    for index, pattern in enumerate(on):
        where: tuple[Any, ...] = ("on", index) if len(on) > 1 else ("on",)
        if is_glob(pattern):
            matches = glob_matcher([pattern])
            matched = [name for name in EVENT_TYPES if matches(name)]
            if not matched:
                found.append(
                    Finding(where, f"no event type Wawp sends matches {pattern!r}", _known_hint(pattern))
                )
            names.update(matched)
        elif pattern in EVENT_TYPES:
            names.add(pattern)
        else:
            complete = False
            found.append(
                Finding(
                    where,
                    f"{pattern!r} is not an event type Wawp sends: the rule may never fire",
                    _known_hint(pattern),
                )
            )
    return found, _Types(tuple(sorted(names)), complete and bool(names))


def _known_hint(pattern: str) -> str:
    close = did_you_mean(pattern.replace("*", ""), EVENT_TYPES)
    if close.startswith("did you mean"):
        return close
    return "event types: " + ", ".join(sorted(EVENT_TYPES)[:6]) + ", … (docs/reference.md lists them all)"


def _carrying(what: Carry) -> str:
    names = [name for name, kind in EVENT_TYPES.items() if what in kind.carries]
    return ", ".join(names[:4]) + (", …" if len(names) > 4 else "")


def _triggers(types: _Types, triggers: Mapping[str, Any]) -> list[Finding]:
    found = []
    for name in triggers:
        kind = TRIGGERS.get(str(name))
        if kind is None or kind.needs is None or types.carry(kind.needs):
            continue
        found.append(
            Finding(
                ("if", name),
                f"{name}: {types.label()} never carry {CARRY_WORDS[kind.needs]}, so this rule can never fire",
                f"{CARRY_WORDS[kind.needs]} comes with {_carrying(kind.needs)}: put the rule on: one of them",
            )
        )
    return found


def _actions(types: _Types, triggers: Mapping[str, Any], items: list[Any]) -> list[Finding]:
    found = []
    leave_only = _only_leaves(types, triggers)
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        for word in item:
            kind = ACTIONS.get(str(word))
            if kind is None:
                continue
            params = kind.expand(item[word])
            given = isinstance(params, dict) and kind.needs_unless in params
            if kind.needs is not None and not given and not types.carry(kind.needs):
                found.append(
                    Finding(
                        ("do", position, word),
                        f"{word}: {types.label()} have no {CARRY_WORDS[kind.needs].removeprefix('a ')} "
                        f"for it to act on, so it fails every time",
                        f"{CARRY_WORDS[kind.needs]} comes with {_carrying(kind.needs)}"
                        + ("; send: {to: …} writes to a chat you name" if word == "reply" else ""),
                        key=True,
                    )
                )
            if (
                word == "remove"
                and leave_only
                and not (isinstance(params, dict) and params.get("participants"))
            ):
                found.append(
                    Finding(
                        ("do", position, word),
                        "remove: on a leave event the people it is about have already left",
                        "remove people when they join (action: join), or name them with participants:",
                        key=True,
                    )
                )
    return found


def _only_leaves(types: _Types, triggers: Mapping[str, Any]) -> bool:
    """True when every event the rule can meet is someone leaving a group."""
    action = triggers.get("action")
    actions = set(action) if isinstance(action, list) else {action} if isinstance(action, str) else set()
    if actions and actions <= {"leave"}:
        return True
    return types.complete and bool(types.names) and set(types.names) <= _LEAVE_TYPES


def _expression(source: str) -> list[Finding]:
    try:
        expression = compile_expression(source)
    except ExpressionError:
        return []  # reported as an error by the trigger itself
    return [
        Finding(
            ("if", "expr"),
            f"expr: '.{method}(…)' is a method call, which expressions cannot make: it fails every time",
            "use a function instead, e.g. lower(text) rather than text.lower()",
        )
        for method in method_calls(expression)
    ]


def unknown_fields(
    used: Iterable[tuple[str, str]], fields: Mapping[str, tuple[str, ...]], shadowed: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(message, hint) for each `variable.field` whose variable is a record without that field.

    `shadowed`: names a regex group or an `as:` result gives a value of its own (not judged).
    """
    shadowed = set(shadowed)
    problems = []
    for variable, field in sorted(set(used)):
        record = fields.get(variable)
        if record is None or variable in shadowed or field in record:
            continue
        problems.append((f"{variable} has no field {field!r}", did_you_mean(field, record)))
    return problems
