"""`broadcast`: send a templated message to everyone on a list (`opt_out` is in consent.py).

    - broadcast:
        to: customers.csv                  # or a list name: customers = lists/customers.txt
        text: "Hi {{ person.name }}! This week: 20% off. Reply STOP to stop these messages."
        image: media/offer.jpg             # optional: the text becomes its caption
    - name: stop
      if: {equals: [stop, unsubscribe]}
      do: [{opt_out: sender}, {reply: "Done: no more offers from us."}]

The action starts a campaign (botengine/broadcasts.py) and returns at once with its id; the
engine's scheduler sends it (botengine/broadcaster.py), paced, skipping who opted out (the
store's opt-outs and lists/optout.txt, or the lists named in `suppress:`), resumable after a
crash. `botengine broadcast` and the dashboard show its progress and pause, resume or cancel it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from pydantic import Field

from botengine import broadcasts, confined
from botengine.actions.base import ActionContext, ActionKind, Params
from botengine.actions.files import guess_mimetype, source_problem
from botengine.audience import Audience, read_audience, source_path
from botengine.errors import FileRefusedError, PermanentError
from botengine.templating import render
from botengine.types import JSONDict

DEFAULT_SUPPRESS = "lists/optout.txt"


class BroadcastParams(Params):
    to: str = Field(min_length=1, description="who: a list name (lists/NAME.txt) or a .csv file")
    text: str = Field(min_length=1, description="the message; {{ person.COLUMN }} reads a CSV's column")
    image: str | None = Field(None, description="an image (link or file) to send, with the text as caption")
    name: str | None = Field(None, max_length=100, description="the campaign's name (default: the rule's)")
    suppress: list[str] | None = Field(
        None, description="list files of people never to send to (default: lists/optout.txt if it exists)"
    )
    session: str | None = Field(None, description="the Wawp session to send from (default: the event's)")
    jitter: float = Field(0.2, ge=0, le=1, description="random extra wait, as a share of the send interval")


def _suppress_files(params: BroadcastParams, folder: Path) -> list[str]:
    if params.suppress is not None:
        return [source_path(folder, name) for name in params.suppress]
    return [DEFAULT_SUPPRESS] if (folder / DEFAULT_SUPPRESS).is_file() else []


def _per_person_policy(ctx: ActionContext) -> Literal["skip", "resend"]:
    """The action's `uncertain:` option (written beside `broadcast:`, like `retry:`) decides for
    each person whose send a crash left unknown; `dead_letter` sets them aside as `skip` does:
    counted and listed as uncertain on the campaign, never sent to again."""
    policy = ctx.spec.uncertain if ctx.spec is not None else None
    return "resend" if policy == "resend" else "skip"


def _folder(ctx: ActionContext) -> Path:
    return ctx.spec.rules_folder if ctx.spec is not None else Path(".")


async def run_broadcast(params: BroadcastParams, ctx: ActionContext) -> JSONDict:
    folder = _folder(ctx)
    audience = await asyncio.to_thread(read_audience, folder, params.to)
    suppress = _suppress_files(params, folder)
    for name in suppress:
        try:
            confined.find(folder, name)
        except FileRefusedError as exc:
            raise PermanentError(f"broadcast: suppress: {exc}") from exc
    session = params.session or ctx.event.session
    campaign = broadcasts.Campaign(
        id=broadcasts.campaign_id(ctx.idempotency_key),  # the same if the rule runs again
        name=params.name or ctx.rule,
        session=session,
        text=params.text,
        image=params.image,
        folder=str(folder),
        suppress=suppress,
        total=len(audience.people),
        uncertain=_per_person_policy(ctx),
        jitter=params.jitter,
        origin=f"rule {ctx.rule}",
        variables=dict(ctx.plan.variables) if ctx.plan is not None else {},
    )
    created = await broadcasts.create(ctx.services.storage, campaign, audience.people)
    return {"campaign": campaign.id, "total": campaign.total, "unreadable": audience.problems, "new": created}


def preview_broadcast(params: BroadcastParams, ctx: ActionContext) -> JSONDict:
    audience = read_audience(_folder(ctx), params.to)
    first = audience.people[0]
    shown: JSONDict = {"to": params.to, "people": len(audience.people)}
    shown["never_to"] = ["people who wrote STOP (opt_out)", *_suppress_files(params, _folder(ctx))]
    shown["first"] = {"to": first.to, "text": render(params.text, {"person": first.fields, "to": first.to})}
    if audience.problems:
        shown["unreadable"] = audience.problems[:5]
    return shown


def check_broadcast(params: BroadcastParams, folder: Path) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if "{{" not in params.to:
        try:
            audience: Audience = read_audience(folder, params.to)
        except PermanentError as exc:
            problems.append((str(exc), "a list name (lists/NAME.txt) or a .csv file beside the rules"))
        else:
            problems += [(problem, "") for problem in audience.problems[:3]]
    if params.image is not None and "{{" not in params.image:
        if problem := source_problem(params.image, folder):
            problems.append((f"image: {problem}", ""))
        elif guess_mimetype(params.image) not in ("image/jpeg", "image/png"):
            problems.append((f"image: {params.image!r} is not a JPEG or PNG image", ""))
    for name in params.suppress or []:
        try:
            confined.find(folder, source_path(folder, name))
        except FileRefusedError as exc:
            problems.append((f"suppress: {exc}", ""))
    return problems


BROADCAST = ActionKind(
    name="broadcast",
    params=BroadcastParams,
    run=run_broadcast,
    preview=preview_broadcast,
    summary="Send a message to everyone on a list or CSV, paced, skipping opt-outs; resumable.",
    example='broadcast: {to: vip, text: "Hi! This week: 20% off. Reply STOP to opt out."}',
    static_check=check_broadcast,
    uncertain="skip",  # a second promotion is worse than a missing one (docs/actions.md)
    item_params=("text",),
    item_vars=("person", "to"),
)
