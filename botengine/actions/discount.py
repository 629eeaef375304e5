"""`discount`: one code per person per campaign — generated, or taken from a pool file.

    - discount: {campaign: spring, prefix: "SPRING-", expires: 7d, cap: 500}
    - reply: "Here is your code: {{ discount.code }}"

The same person asking twice gets the same code, never two, even when both events are processed
at once: the assignment is an add-if-absent. A campaign's `cap` is counted atomically too; once
it is reached the rule ends quietly (nothing is sent, nothing is dead-lettered). With `pool:`,
codes come in file order from a text file beside the rules (one code a line); an exhausted pool
is an error an operator must see (add codes, then replay the dead letters).
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from botengine import confined
from botengine.actions.base import ActionContext, ActionKind, Params, SkipRule
from botengine.durations import Duration
from botengine.errors import FileRefusedError, PermanentError
from botengine.storage import Storage
from botengine.storage.keys import key, split
from botengine.textlists import load_list
from botengine.types import JSONDict

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud and type


class DiscountParams(Params):
    campaign: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the campaign's name")
    prefix: str = Field("", max_length=20, description="text before the random part, e.g. SPRING-")
    length: int = Field(8, ge=4, le=32, description="random characters in a generated code")
    pool: str | None = Field(None, description="a file of pre-made codes, one a line (beside the rules)")
    per: Literal["sender", "chat"] = Field("sender", description="one code per sender, or per chat")
    expires: Duration | None = Field(None, description="how long a code stays valid, e.g. 7d")
    cap: int | None = Field(None, ge=1, description="at most this many codes for the campaign")


def _assignment_key(campaign: str, recipient: str) -> str:
    return key("discount", campaign, "to", recipient)


def _recipient(params: DiscountParams, ctx: ActionContext) -> str:
    event = ctx.event
    who = event.chat.id if params.per == "chat" else (event.sender.id if event.sender else "")
    if not who:
        raise PermanentError(f"discount: the event names no {params.per} to give a code to")
    return who


@lru_cache(maxsize=64)
def _pool_codes(folder: Path, pool: str, mtime_ns: int) -> tuple[str, ...]:
    return load_list(folder, pool).entries


def pool_codes(folder: Path, pool: str) -> tuple[str, ...]:
    """The codes of the pool file `pool` inside the rules `folder`, read again only when the file
    changed; PermanentError when it cannot be read there (outside the folder, not a plain file)."""
    try:
        try:
            changed = confined.inside(folder, pool).stat().st_mtime_ns
        except OSError:
            changed = -1  # the read says why, in the same words as for every other file
        return _pool_codes(folder, pool, changed)
    except FileRefusedError as exc:
        raise PermanentError(f"discount: pool: {exc}") from exc


async def _new_code(params: DiscountParams, ctx: ActionContext, storage: Storage) -> str:
    if params.pool is not None:
        assert ctx.spec is not None
        codes = pool_codes(ctx.spec.rules_folder, params.pool)
        cursor = key("discount", params.campaign, "pool-next")
        taken = await storage.incr(cursor)
        if taken > len(codes):
            await storage.incr(cursor, -1)  # so the first code added to the file is the next one
            raise PermanentError(
                f"discount: the pool {params.pool} is used up ({len(codes)} codes issued); "
                "add codes to the file, then replay the dead letters"
            )
        return codes[taken - 1]
    while True:  # a clash is about one in a trillion; the add makes it impossible, not unlikely
        code = params.prefix + "".join(secrets.choice(ALPHABET) for _ in range(params.length))
        if await storage.add(key("discount", params.campaign, "code", code), _recipient(params, ctx)):
            return code


async def run_discount(params: DiscountParams, ctx: ActionContext) -> JSONDict:
    storage = ctx.services.storage
    recipient = _recipient(params, ctx)
    slot = _assignment_key(params.campaign, recipient)
    existing = await storage.get(slot)
    if isinstance(existing, dict):
        return {**existing, "new": False}
    count_key = key("discount", params.campaign, "issued")
    if params.cap is not None:
        issued = await storage.incr(count_key)
        if issued > params.cap:
            await storage.incr(count_key, -1)
            raise SkipRule(f"campaign {params.campaign!r} reached its cap of {params.cap} codes")
    try:
        code = await _new_code(params, ctx, storage)
    except BaseException:
        if params.cap is not None:  # no code was issued: its place under the cap is free again
            await storage.incr(count_key, -1)
        raise
    now = time.time()
    record: JSONDict = {
        "code": code,
        "campaign": params.campaign,
        "recipient": recipient,
        "issued_at": datetime.fromtimestamp(now, UTC).isoformat(),
        "expires_at": (
            datetime.fromtimestamp(now + params.expires, UTC).isoformat() if params.expires else None
        ),
        "event_id": ctx.event.id,
        "session": ctx.event.session,
    }
    if await storage.add(slot, record):
        if params.cap is None:
            await storage.incr(count_key)
        return {**record, "new": True}
    # Another event for the same person won the race: theirs is the code (a pooled one is spent).
    if params.cap is not None:
        await storage.incr(count_key, -1)
    winner = await storage.get(slot)
    if not isinstance(winner, dict):
        raise PermanentError("discount: the code assignment vanished while being read")
    return {**winner, "new": False}


def preview_discount(params: DiscountParams, ctx: ActionContext) -> JSONDict:
    source = f"from {params.pool}" if params.pool else f"{params.prefix}+{params.length} random"
    return {"campaign": params.campaign, "to": _recipient(params, ctx), "code": source}


def dry_result_discount(params: DiscountParams, ctx: ActionContext) -> JSONDict:
    return {
        "code": f"{params.prefix}{'X' * params.length}" if not params.pool else "POOL-CODE",
        "campaign": params.campaign,
        "expires_at": None,
        "new": True,
        "dry_run": True,
    }


def check_discount(params: DiscountParams, folder: Path) -> list[tuple[str, str]]:
    if params.pool is None:
        return []
    if "{{" in params.pool or "{%" in params.pool:
        return [("pool: the file name cannot be a template", "name the file: pool: codes.txt")]
    try:
        codes = pool_codes(folder, params.pool)
    except PermanentError as exc:
        hint = "the path is relative to this rules file, and stays inside its folder"
        return [(str(exc).removeprefix("discount: "), hint)]
    if not codes:
        return [(f"the pool file {params.pool!r} holds no codes", "one code a line")]
    return []


DISCOUNT = ActionKind(
    name="discount",
    params=DiscountParams,
    run=run_discount,
    preview=preview_discount,
    summary="Give the sender a discount code for a campaign (the same code if they ask again); "
    "later actions read {{ discount.code }}.",
    example='discount: {campaign: spring, prefix: "SPRING-", expires: 7d}',
    shorthand="campaign",
    result_var="discount",
    static_check=check_discount,
    dry_result=dry_result_discount,
)


# --- issued codes (read by `botengine codes`) -------------------------------------------------


async def issued_codes(storage: Storage, campaign: str) -> list[JSONDict]:
    """Every code issued for `campaign`, oldest first."""
    found = [v for _, v in await storage.scan(key("discount", campaign, "to", "")) if isinstance(v, dict)]
    return sorted(found, key=lambda r: str(r.get("issued_at", "")))


async def campaigns(storage: Storage) -> list[str]:
    names = {split(k)[0] for k, _ in await storage.scan(key("discount", ""))}
    return sorted(names)
