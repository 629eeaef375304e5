"""Branches inside `do:`: `choose:` (the first option whose triggers hold) and `if:` / `then:` / `else:`.

    - choose:
        - if: {text: '^\\s*1\\s*$'}
          do: [{reply: "Orders: send your order number"}]
        - if: {expr: "state.tries > 2"}
          do: [{reply: "Let me get a person for you"}]
      default:
        - reply: "Reply 1 for orders"
    - if: {state: {vip: true}}
      then: [{reply: "Welcome back!"}]
      else: [{reply: "Hello!"}]

Conditions are the triggers of a rule's `if:` (compiled when the rules load, rules/branches.py),
evaluated when the branch action runs: they see the results of earlier actions (`as:`) and the
state the rule wrote before them. The branch's actions are indexed below it ("2.b.j": option `b`,
action `j`; `default:` and `else:` come after the options), so the idempotency ledger, retries,
dead letters and replays treat them like any action of the rule.

The decision is recorded, never taken twice: it is the branch action's result, kept in the
ledger, and the chosen actions are put into the run's plan. A retry or a replay of an action
inside the branch carries that plan (the branch is not evaluated again), and a redelivered event
finds the decision in the ledger and goes down the same branch.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field

from botengine.actions.base import ACTIONS, ActionContext, ActionKind, ActionSpec, Params
from botengine.errors import PermanentError
from botengine.types import JSONDict

log = logging.getLogger("botengine.actions")

Verdict = tuple[str | None, dict[str, Any]]
"""None when a condition holds (with the regex groups it found), or why it does not."""
Evaluator = Callable[[dict[str, Any], ActionContext], Awaitable[Verdict]]

_evaluators: list[Evaluator] = []


def use_conditions(evaluate: Evaluator) -> None:
    """Set how branch conditions are evaluated (rules/branches.py: the rules' trigger compiler)."""
    _evaluators[:] = [evaluate]


async def _holds(condition: dict[str, Any], ctx: ActionContext) -> Verdict:
    if not _evaluators:
        raise PermanentError("branches: no rules loaded to evaluate conditions with")
    return await _evaluators[0](condition, ctx)


def branch_of(spec: ActionSpec, branch: int) -> list[ActionSpec]:
    """The actions of branch `branch` of `spec` (a choose's option, then or else), in order."""
    prefix = f"{spec.index}.{branch}."
    return [inner for inner in spec.nested if inner.index.startswith(prefix)]


def chosen_first(
    spec: ActionSpec, result: Any, rest: list[ActionSpec], results: dict[str, Any]
) -> list[ActionSpec]:
    """The chosen branch's actions, then the rest of the rule (`next_actions` of both kinds).

    From the decision as run or as the ledger kept it: a redelivered event goes the same way.
    """
    branch = result.get("branch") if isinstance(result, dict) else None
    chosen = branch_of(spec, branch) if isinstance(branch, int) else []
    for name in names_given([inner for inner in spec.nested if inner not in chosen]):
        results.setdefault(name, None)  # a result named in a branch not taken reads as nothing
    if not isinstance(branch, int):
        return rest  # no branch taken
    groups = result.get("groups")
    results.update(groups if isinstance(groups, dict) else {})  # `(?P<n>…)`: {{ n }} in the branch
    return [*chosen, *rest]


def names_given(specs: list[ActionSpec]) -> set[str]:
    """The result names `specs` (and the actions inside them) give: `as:` and the kinds' own."""
    found: set[str] = set()
    for spec in specs:
        kind = ACTIONS.get(spec.kind)
        found |= {name for name in (spec.result_as, kind.result_var if kind else None) if name}
        found |= names_given(list(spec.nested))
    return found


def _decided(ctx: ActionContext, branch: int | None, why: str, groups: dict[str, Any]) -> JSONDict:
    fields = {"rule": ctx.rule, "event_id": ctx.event.id, "index": ctx.index, "why": why}
    log.info("branch %s", "none" if branch is None else branch, extra={"fields": fields})
    return {"branch": branch, "why": why, "groups": groups}


# -- choose ---------------------------------------------------------------------------------------


class Option(Params):
    if_: dict[str, Any] = Field(alias="if", description="triggers, as in a rule's if:; every one must hold")
    do: list[Any] = Field(min_length=1, description="the actions to run when they hold")


class ChooseParams(Params):
    choose: list[Option] = Field(
        min_length=1, description="options, tried in order: the first that holds runs"
    )
    default: list[Any] = Field(default_factory=list, description="the actions to run when no option holds")


async def run_choose(params: ChooseParams, ctx: ActionContext) -> JSONDict:
    reasons = []
    for number, option in enumerate(params.choose):
        why, groups = await _holds(option.if_, ctx)
        if why is None:
            return _decided(ctx, number, f"option {number + 1} holds", groups)
        reasons.append(f"option {number + 1}: {why}")
    if params.default:
        return _decided(ctx, len(params.choose), "default: " + "; ".join(reasons), {})
    return _decided(ctx, None, "no option holds: " + "; ".join(reasons), {})


def preview_choose(params: ChooseParams, ctx: ActionContext) -> JSONDict:
    return {"options": len(params.choose), "default": bool(params.default)}


def choose_paths(params: Any) -> list[tuple[tuple[Any, ...] | None, tuple[Any, ...]]]:
    """(where its condition is, where its actions are) of each branch, as written."""
    options = params.get("choose") if isinstance(params, dict) else None
    paths: list[tuple[tuple[Any, ...] | None, tuple[Any, ...]]] = [
        (("choose", n, "if"), ("choose", n, "do"))
        for n in range(len(options) if isinstance(options, list) else 0)
    ]
    return [*paths, (None, ("default",))]


CHOOSE = ActionKind(
    name="choose",
    params=ChooseParams,
    run=run_choose,
    preview=preview_choose,
    summary="Run the actions of the first option whose triggers hold (else default:).",
    example='choose: [{if: {equals: "1"}, do: [{reply: "Orders"}]}]',
    shorthand="choose",
    siblings=("default",),
    holds=("choose", "default"),
    reads_only=True,
    next_actions=chosen_first,
    branches=choose_paths,
)


# -- if / then / else -----------------------------------------------------------------------------


class IfParams(Params):
    if_: dict[str, Any] = Field(alias="if", description="triggers, as in a rule's if:; every one must hold")
    then: list[Any] = Field(min_length=1, description="the actions to run when they hold")
    else_: list[Any] = Field(default_factory=list, alias="else", description="the actions to run otherwise")


async def run_if(params: IfParams, ctx: ActionContext) -> JSONDict:
    why, groups = await _holds(params.if_, ctx)
    if why is None:
        return _decided(ctx, 0, "the condition holds", groups)
    return _decided(ctx, 1 if params.else_ else None, why, {})


def preview_if(params: IfParams, ctx: ActionContext) -> JSONDict:
    return {"else": bool(params.else_)}


def if_paths(params: Any) -> list[tuple[tuple[Any, ...] | None, tuple[Any, ...]]]:
    return [(("if",), ("then",)), (None, ("else",))]


IF = ActionKind(
    name="if",
    params=IfParams,
    run=run_if,
    preview=preview_if,
    summary="Run then: when the triggers hold, else: otherwise (both beside if:).",
    example='{if: {state: {vip: true}}, then: [{reply: "Welcome back!"}], else: [{reply: "Hello!"}]}',
    shorthand="if",
    siblings=("then", "else"),
    holds=("if", "then", "else"),
    reads_only=True,
    next_actions=chosen_first,
    branches=if_paths,
)
