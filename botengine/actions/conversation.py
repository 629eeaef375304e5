"""Conversation state (`set`, `clear`), counters (`count`) and log lines (`log`).

These act on botengine itself, not on the world: they never call out, never wait, and are paced
by nothing. Menu bots are built from `set` and the `state` trigger; templates read the values
back as `{{ state.NAME }}` (and the rule's later actions see what `set` just wrote):

    - name: menu
      if: {text: '^\\s*menu\\s*$'}
      do:
        - reply: "Reply 1 for orders, 2 for support"
        - set: {var: menu, value: main, expires: 30m}
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.durations import Duration
from botengine.errors import PermanentError
from botengine.state import DEFAULT_TTL, VARIABLE_OF, Scope, clear_var, set_var
from botengine.storage.keys import key
from botengine.types import JSON, JSONDict

log = logging.getLogger("botengine.rules")

_VAR = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"


def _owner(scope: Scope, ctx: ActionContext) -> str:
    event = ctx.event
    owner = event.chat.id if scope == "chat" else (event.sender.id if event.sender else "")
    if not owner:
        raise PermanentError(f"this event has no {scope} to keep state for")
    return owner


def share_state(ctx: ActionContext, scope: Scope, var: str, value: JSON | None) -> None:
    """Let the rule's later actions see the new value as `state.VAR` (or `sender_state.VAR`)."""
    name = VARIABLE_OF[scope]
    before = ctx.results.get(name) or (ctx.plan.variables.get(name) if ctx.plan is not None else None)
    ctx.results[name] = {**(before if isinstance(before, dict) else {}), var: value}


class SetParams(Params):
    var: str = Field(pattern=_VAR, description="the variable's name")
    value: JSON = Field(description="its value: text (a template), a number, yes/no")
    scope: Literal["chat", "sender"] = Field("chat", description="kept per chat, or per sender")
    expires: Duration = Field(DEFAULT_TTL, description="forgotten after this long (default 1d)")


async def run_set(params: SetParams, ctx: ActionContext) -> JSONDict:
    owner = _owner(params.scope, ctx)
    await set_var(
        ctx.services.storage, ctx.event.session, params.scope, owner, params.var, params.value, params.expires
    )
    share_state(ctx, params.scope, params.var, params.value)
    return {"var": params.var, "value": params.value}


def preview_set(params: SetParams, ctx: ActionContext) -> JSONDict:
    return {"var": params.var, "value": params.value, "scope": params.scope, "expires": params.expires}


def pretend_set(params: SetParams, ctx: ActionContext) -> JSONDict:
    share_state(ctx, params.scope, params.var, params.value)  # a dry run's later templates see it too
    return {"var": params.var, "value": params.value}


SET = ActionKind(
    name="set",
    params=SetParams,
    run=run_set,
    preview=preview_set,
    summary="Remember a value (a template: the person's answer) for this chat or sender: {{ state.NAME }}.",
    example='set: {var: order, value: "{{ text }}", expires: 30m}',
    dry_result=pretend_set,
    rehearse=run_set,  # on a scratch store (inline tests' steps) the next step sees it
)


class ClearParams(Params):
    var: str = Field(pattern=_VAR, description="the variable to forget")
    scope: Literal["chat", "sender"] = Field("chat", description="as it was set: per chat, or per sender")


async def run_clear(params: ClearParams, ctx: ActionContext) -> JSONDict:
    owner = _owner(params.scope, ctx)
    existed = await clear_var(ctx.services.storage, ctx.event.session, params.scope, owner, params.var)
    share_state(ctx, params.scope, params.var, None)
    return {"var": params.var, "cleared": existed}


def pretend_clear(params: ClearParams, ctx: ActionContext) -> JSONDict:
    share_state(ctx, params.scope, params.var, None)
    return {"var": params.var, "cleared": True}


def preview_clear(params: ClearParams, ctx: ActionContext) -> JSONDict:
    return {"var": params.var, "scope": params.scope}


CLEAR = ActionKind(
    name="clear",
    params=ClearParams,
    run=run_clear,
    preview=preview_clear,
    dry_result=pretend_clear,
    rehearse=run_clear,
    summary="Forget a value set with set.",
    example="clear: menu",
    shorthand="var",
)


class CountParams(Params):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$", description="the counter's name")
    by: str = Field("", max_length=64, description="a breakdown, e.g. {{ emoji }} (a template)")
    amount: int = Field(1, ge=-1_000_000, le=1_000_000, description="how much to add (negative: take away)")


def counter_key(name: str, by: str) -> str:
    return key("counter", name, by)


async def run_count(params: CountParams, ctx: ActionContext) -> JSONDict:
    value = await ctx.services.storage.incr(counter_key(params.name, params.by), params.amount)
    if ctx.services.metrics is not None:
        ctx.services.metrics.count_rule_counter(params.name, params.by, params.amount)
    return {"name": params.name, "by": params.by, "value": value}


def preview_count(params: CountParams, ctx: ActionContext) -> JSONDict:
    return {"name": params.name, "by": params.by, "add": params.amount}


COUNT = ActionKind(
    name="count",
    params=CountParams,
    run=run_count,
    preview=preview_count,
    summary="Add to a named counter (shown in /metrics as botengine_rule_counter_total).",
    example='count: {name: reactions, by: "{{ emoji }}"}',
    shorthand="name",
    uncertain="skip",  # a tally: counting an event twice would falsify it; one short at a crash, not
)


class LogParams(Params):
    text: str = Field(min_length=1, max_length=4000, description="the line (a template)")
    level: Literal["info", "warning", "error"] = Field("info", description="how the line is marked")


async def run_log(params: LogParams, ctx: ActionContext) -> JSONDict:
    fields = {"rule": ctx.rule, "event_id": ctx.event.id, "chat": ctx.event.chat.id}
    log.log(logging.getLevelName(params.level.upper()), params.text, extra={"fields": fields})
    return {"text": params.text}


def preview_log(params: LogParams, ctx: ActionContext) -> JSONDict:
    return {"level": params.level, "text": params.text}


LOG = ActionKind(
    name="log",
    params=LogParams,
    run=run_log,
    preview=preview_log,
    summary="Write a line in the engine's log (for audits, and to see a rule fire in a dry run).",
    example='log: "VIP {{ sender.id }} wrote: {{ text }}"',
    shorthand="text",
)
