"""Branches at load time and their conditions at run time (`choose:`, `if:` in `do:`, `ask:`).

Load: each branch's condition is a rule's `if:` (the loader compiles it with the same trigger
registry, reporting mistakes at their line), and its actions are checked like the rule's, indexed
"i.b.j" (branch `b` of action `i`). Names given inside a branch (`as:`) may be used after it; the
regex groups of its condition only inside it.

Run: the branch action (actions/branches.py) asks `holds` whether a condition holds. The compiled
checks are kept by the condition's text, so a plan read back from the store (a retry, a form's next
step) finds them; a condition not loaded in this process (an older rules file) is compiled again,
without named lists. Conditions see the rule's variables, the results of earlier actions and the
state the rule wrote before them (then the store, for the names it did not read).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from botengine.actions.base import ActionContext, ActionKind, ActionSpec
from botengine.actions.branches import Verdict, use_conditions
from botengine.errors import ExpressionError, PermanentError
from botengine.rules.triggers import TRIGGERS, Check, CompileContext, MatchContext, TriggerError
from botengine.rules.where import Where
from botengine.state import SCOPE_OF

if TYPE_CHECKING:
    from botengine.rules.action_checks import ActionChecker, Names

Conditions = Callable[[Where, Mapping[str, Any], set[str]], "set[str] | None"]
"""Compiles a branch's condition written at `where`: its regex group names, None after a mistake."""

_KEEP = 4096  # compiled conditions kept (a rules editor checks many versions of one rule)
_compiled: OrderedDict[str, tuple[Check, ...]] = OrderedDict()


def _key(condition: Mapping[str, Any]) -> str:
    return json.dumps(condition, sort_keys=True, default=str, ensure_ascii=False)


def remember(condition: Mapping[str, Any], checks: tuple[Check, ...]) -> None:
    """Keep the checks the loader compiled for `condition` (with the rules' named lists)."""
    key = _key(condition)
    _compiled[key] = checks
    _compiled.move_to_end(key)
    while len(_compiled) > _KEEP:
        _compiled.popitem(last=False)


def check_branches(
    checker: ActionChecker, where: Where, kind: ActionKind[Any], params: Any, names: Names, index: str
) -> tuple[ActionSpec, ...]:
    """The actions of every branch of the action at `where`, checked; conditions compiled."""
    if not isinstance(params, dict) or kind.branches is None:
        return ()
    from botengine.rules.action_checks import item_loc  # (it imports this module)

    specs: list[ActionSpec] = []
    given: set[str] = set()
    result_as = where.value("as")
    for number, (condition_at, actions_at) in enumerate(kind.branches(params)):
        inner = type(names)(set(names.known), set(names.own))
        if isinstance(result_as, str):  # a question's answer: {{ order }} in its then:
            inner.known.add(result_as)
        groups: set[str] = set()
        if condition_at is not None:
            at = where.child(*item_loc(kind, condition_at))
            found = _condition(checker, at, _at(params, condition_at), names.own)
            groups = found or set()  # after a mistake, its actions are still checked
            inner.known |= groups
            inner.own |= groups
        actions = _at(params, actions_at)
        if isinstance(actions, list):
            inside = where.child(*item_loc(kind, actions_at))
            specs += checker.actions(inside, actions, inner, f"{index}.{number}.")
            given |= inner.known - names.known - groups
    names.known |= given  # what a branch names may be used after it (nothing when not taken)
    names.own |= given
    return tuple(specs)


def _condition(checker: ActionChecker, where: Where, condition: Any, own: set[str]) -> set[str] | None:
    if not isinstance(condition, dict):
        return None  # the parameters' check says what it should be
    if not condition:
        where.report(
            "a condition needs at least one trigger, as in a rule's if:",
            "e.g. if: {text: '^yes$'} or if: {expr: 'state.n > 2'}",
        )
        return None
    if checker.conditions is None:
        return set()
    return checker.conditions(where, condition, own)


def _at(params: Mapping[str, Any], path: tuple[Any, ...]) -> Any:
    value: Any = params
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


# -- run time -------------------------------------------------------------------------------------


def compile_condition(condition: Mapping[str, Any], lists: CompileContext) -> tuple[Check, ...]:
    """The checks of a condition (TriggerError when it does not compile): run time's fallback."""
    checks = []
    for name, value in condition.items():
        kind = TRIGGERS.get(str(name))
        if kind is None or name == "on":
            raise TriggerError(f"unknown trigger {name!r}")
        try:
            checks.append(kind.compile(TypeAdapter(kind.type_).validate_python(value), lists))
        except ValidationError as exc:
            raise TriggerError(f"{name}: {exc.errors(include_url=False)[0]['msg'].lower()}") from None
    return tuple(checks)


async def holds(condition: dict[str, Any], ctx: ActionContext) -> Verdict:
    """Whether `condition` holds for the action's event now: (None, regex groups) or (why not, {})."""
    checks = _compiled.get(_key(condition))
    if checks is None:
        try:
            checks = compile_condition(condition, CompileContext({}))
        except TriggerError as exc:
            raise PermanentError(f"the condition no longer loads: {exc.message}") from None
        remember(condition, checks)
    variables = {**ctx.plan.variables, **ctx.results} if ctx.plan is not None else dict(ctx.results)
    match = MatchContext(ctx.event, ctx.services.storage, _now(variables), lambda: variables)
    for variable, scope in SCOPE_OF.items():  # what the rule read and wrote is not read again
        known = variables.get(variable)
        if isinstance(known, dict):
            match.know_state(scope, known)
    for check in checks:
        try:
            reason = check.run(match) if check.run is not None else await _async(check, match)
        except ExpressionError as exc:
            raise PermanentError(f"{check.trigger}: {exc}") from exc
        if reason is not None:
            return reason, {}
    return None, dict(match.groups)


async def _async(check: Check, match: MatchContext) -> str | None:
    assert check.run_async is not None
    return await check.run_async(match)


def _now(variables: Mapping[str, Any]) -> datetime:
    """The run's `now` (an inline test's clock), else the clock's."""
    written = variables.get("now")
    try:
        return datetime.fromisoformat(written) if isinstance(written, str) else datetime.now(UTC)
    except ValueError:
        return datetime.now(UTC)


use_conditions(holds)
