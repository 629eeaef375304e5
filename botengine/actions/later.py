"""`later`: run actions after a delay, unless something happened first.

    - later:
        after: 1h
        unless: read          # read: a read receipt came for this chat; replied: they wrote again
        do:
          - reply: "Did you see our answer? Reply here if you still need help."

The follow-up is a scheduled job in the store, so a restart neither loses nor repeats it (its
id is fixed by the event, rule and action, and the actions inside it go through the idempotency
ledger like any other). Whether to cancel is decided when it falls due, from the chat's activity
since the event (botengine/activity.py).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from botengine.actions.base import ActionContext, ActionKind, Capability, Params
from botengine.durations import Duration, format_duration
from botengine.errors import PermanentError
from botengine.types import JSONDict

Condition = Literal["read", "replied"]
MAX_DELAY = 90 * 86400.0


class LaterParams(Params):
    after: Duration = Field(description="how long to wait, e.g. 30m, 1h, 2d")
    unless: list[Condition] = Field(
        default_factory=list, description="cancel if, meanwhile: read (our message was read), replied"
    )
    do: list[Any] = Field(min_length=1, description="the actions to run then")

    @field_validator("unless", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("after")
    @classmethod
    def _bounded(cls, value: float) -> float:
        if not 0 < value <= MAX_DELAY:
            raise ValueError("after: must be more than 0 and at most 90d")
        return value


async def run_later(params: LaterParams, ctx: ActionContext) -> JSONDict:
    if ctx.services.follow_up is None or ctx.spec is None:
        raise PermanentError("later: this engine has no scheduler")
    return await ctx.services.follow_up(ctx, ctx.spec.nested, params.after, tuple(params.unless))


def preview_later(params: LaterParams, ctx: ActionContext) -> JSONDict:
    shown: JSONDict = {"after": format_duration(params.after)}
    if params.unless:
        shown["unless"] = params.unless
    shown["do"] = [{k: v for k, v in item.items() if k not in ("retry", "timeout")} for item in params.do]
    return shown


LATER = ActionKind(
    name="later",
    params=LaterParams,
    run=run_later,
    preview=preview_later,
    summary="Run actions after a delay (after: 1h), cancelled if the chat was read or replied first.",
    example='later: {after: 1h, unless: read, do: [{reply: "Still there?"}]}',
    nested="do",
    rehearse=run_later,  # a dry run on a scratch store schedules it there (inline tests' `wait:`)
    capabilities=frozenset({Capability.FOLLOW_UPS}),
    capability_params={"unless": Capability.ACTIVITY},
)
