"""`add_to` and `remove_from`: put a person on a list kept in the store, or take them off it.

    - name: make-vip
      if: {equals: "vip please", sender: {in: staff}}
      do:
        - add_to: {list: vip, who: "{{ quoted.sender }}", expires: 30d, note: "asked in the shop"}
    - name: vip-welcome
      if: {sender: {in: vip}}
      do: [{reply: "Welcome back! VIP prices apply."}]

`who` is the sender unless it says otherwise (a JID or a phone number, may be a template). The
lists are per session and read by `sender`, `chat_id` and `participant` (`{in: vip}`,
`{not_in: vip}`) at the next event: botengine/store_lists.py. Both are single writes, so running
one again (a retry, a replay) changes nothing: `resend` is their policy when the engine cannot
know whether the write happened.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ConfigDict, Field

from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.durations import Duration
from botengine.errors import PermanentError
from botengine.store_lists import NAME_PATTERN, ListNameError, StoreLists, check_name, jid_for
from botengine.types import JSONDict


class ListParams(Params):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    name: str = Field(
        alias="list",
        json_schema_extra={"pattern": NAME_PATTERN},  # checked by check_list, in plain words
        description="the list's name (letters, digits, - and _): read it with sender: {in: NAME}",
    )
    who: str = Field(
        "", max_length=200, description="a JID or phone number, may be a template (default: the sender)"
    )


class AddParams(ListParams):
    expires: Duration | None = Field(None, description="taken off the list after this long (default: never)")
    note: str = Field("", max_length=500, description="why, shown in the dashboard (a template)")


def check_list(params: ListParams, folder: Path) -> list[tuple[str, str]]:
    """Load time: the name is a plain word (no path, no template: rules read it by that name)."""
    if "{{" in params.name or "{%" in params.name:
        return [(f"list: {params.name!r} is a template", "name the list itself: rules read it by its name")]
    try:
        check_name(params.name)
    except ListNameError as exc:
        return [(f"list: {exc}", "e.g. add_to: vip")]
    return []


def _who(params: ListParams, ctx: ActionContext) -> str:
    """The JID the action is about; PermanentError (a dead letter saying why) when there is none."""
    if params.who.strip():
        try:
            return jid_for(params.who)
        except ListNameError as exc:
            raise PermanentError(f"list {params.name!r}: {exc}") from exc
    sender = ctx.event.sender
    if sender is None or not sender.id:
        raise PermanentError(f"event type {ctx.event.type!r} has no sender to put on a list: say who:")
    return sender.id


async def run_add(params: AddParams, ctx: ActionContext) -> JSONDict:
    who = _who(params, ctx)
    lists = StoreLists(ctx.services.storage)
    with _refused():
        member = await lists.add(
            ctx.event.session, params.name, who, by=f"rule {ctx.rule}", note=params.note, ttl=params.expires
        )
    return {"list": params.name, "who": member.jid, "until": member.until}


async def run_remove(params: ListParams, ctx: ActionContext) -> JSONDict:
    who = _who(params, ctx)
    with _refused():
        removed = await StoreLists(ctx.services.storage).remove(ctx.event.session, params.name, who)
    return {"list": params.name, "who": who, "was_on": removed}


@contextmanager
def _refused() -> Iterator[None]:
    """A name or person the store cannot keep: a dead letter saying why, never a retry."""
    try:
        yield
    except ListNameError as exc:
        raise PermanentError(str(exc)) from exc


def preview_add(params: AddParams, ctx: ActionContext) -> JSONDict:
    who = _shown_who(params, ctx)
    until = f" for {params.expires:g} s" if params.expires else ""
    return {
        "list": params.name,
        "who": who,
        "session": ctx.event.session,
        "expires": params.expires,
        "would": f"put {who} on the list {params.name!r}{until} (session {ctx.event.session})",
    }


def preview_remove(params: ListParams, ctx: ActionContext) -> JSONDict:
    who = _shown_who(params, ctx)
    return {
        "list": params.name,
        "who": who,
        "session": ctx.event.session,
        "would": f"take {who} off the list {params.name!r} (session {ctx.event.session})",
    }


def _shown_who(params: ListParams, ctx: ActionContext) -> str:
    try:
        return _who(params, ctx)
    except PermanentError as exc:
        return f"nobody: {exc}"


def pretend_add(params: AddParams, ctx: ActionContext) -> JSONDict:
    until = time.time() + params.expires if params.expires else None
    return {"list": params.name, "who": _shown_who(params, ctx), "until": until}


def pretend_remove(params: ListParams, ctx: ActionContext) -> JSONDict:
    return {"list": params.name, "who": _shown_who(params, ctx), "was_on": True}


ADD_TO = ActionKind(
    name="add_to",
    params=AddParams,
    run=run_add,
    preview=preview_add,
    dry_result=pretend_add,
    summary="Put the sender (or who:) on a list kept in the store, read by sender: {in: NAME}.",
    example="add_to: {list: vip, expires: 30d}",
    shorthand="list",
    static_check=check_list,
    needs="sender",
    needs_unless="who",
)
REMOVE_FROM = ActionKind(
    name="remove_from",
    params=ListParams,
    run=run_remove,
    preview=preview_remove,
    dry_result=pretend_remove,
    summary="Take the sender (or who:) off a list that add_to keeps.",
    example="remove_from: vip",
    shorthand="list",
    static_check=check_list,
    needs="sender",
    needs_unless="who",
)
