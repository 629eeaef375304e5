"""The human touch on a message: a random pause, then "typing…", then the message.

    - reply: {text: "Let me check that for you.", typing: 2s}
    - reply: {text: "Thanks!", delay: 1s-3s}                  # a random pause between 1 and 3 s
    - send: {to: "447441429009@c.us", text: "New order", delay: 2s, typing: 3s}

Order: the number's send budget (pacing) ─► `delay:` (nothing shown) ─► start typing, wait
`typing:`, stop typing (Wawp's /v2/send/start-typing, /v2/send/stop-typing) ─► the message.
The pause and the typing hold the chat, so its messages still leave in order, and they add to
the action's timeout rather than eat into it.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer

from botengine.actions.base import Params
from botengine.durations import format_duration, parse_duration
from botengine.types import JSONDict
from botengine.wawp import WawpClient

MAX_TYPING = 30.0  # WhatsApp drops the indicator after ~20 s anyway; longer holds the chat for nothing
MAX_DELAY = 60.0
DELAY_HINT = "a pause like 2s, or a range like 1s-3s (at most 1m)"


def delay_range(text: str) -> tuple[float, float]:
    """`1s-3s` → (1.0, 3.0); `2s` → (2.0, 2.0). ValueError in plain words otherwise."""
    low, sep, high = text.strip().partition("-")
    try:
        lo = parse_duration(low.strip())
        hi = parse_duration(high.strip()) if sep else lo
    except ValueError:
        raise ValueError(f"{text!r} is not {DELAY_HINT}") from None
    if hi < lo:
        raise ValueError(f"{text!r}: the first time must be the shorter (e.g. 1s-3s)")
    if hi > MAX_DELAY:
        raise ValueError(f"{text!r} is longer than {format_duration(MAX_DELAY)}: {DELAY_HINT}")
    return lo, hi


def typing_field() -> Any:
    return Field(None, description='show "typing…" this long before the message, e.g. 2s (at most 30s)')


def delay_field() -> Any:
    return Field(None, description="wait before the message: 2s, or a random time like 1s-3s")


class HumanTouch(Params):
    """`typing:` and `delay:` on a message: a kind's parameters declare the two fields last,
    `typing: Duration | None = typing_field()` and `delay: str | None = delay_field()`, so the
    reference lists them after the message; this checks them."""

    if TYPE_CHECKING:  # declared by each kind (above): here for mypy only
        typing: float | None
        delay: str | None

    @field_validator("typing", check_fields=False)
    @classmethod
    def _typing_bounded(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= MAX_TYPING:
            raise ValueError(f"must be more than 0 and at most {format_duration(MAX_TYPING)}")
        return value

    @field_validator("delay", mode="before", check_fields=False)
    @classmethod
    def _delay_readable(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = f"{value}s"
        if isinstance(value, str):
            delay_range(value)
        return value

    @model_serializer(mode="wrap")
    def _unsaid_left_out(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Logs and dead letters show `typing` and `delay` only where the rule wrote them."""
        data = handler(self)
        for name in ("typing", "delay"):
            if isinstance(data, dict) and data.get(name) is None:
                data.pop(name, None)
        return data

    @property
    def lead_time(self) -> float:
        """The longest the pause and the typing can take before the message leaves."""
        return (delay_range(self.delay)[1] if self.delay else 0.0) + (self.typing or 0.0)


async def show_typing(wawp: WawpClient, session: str, chat: str, seconds: float) -> None:
    """Start typing in `chat`, wait, and stop it (even when cancelled)."""
    await wawp.start_typing(session, chat)
    try:
        await asyncio.sleep(seconds)
    finally:  # a typing indicator left on looks like a stuck bot
        await asyncio.shield(wawp.stop_typing(session, chat))


async def before_sending(params: HumanTouch, wawp: WawpClient, session: str, chat: str) -> None:
    """The pause, then the typing, that `params` ask for before the message."""
    if params.delay:
        low, high = delay_range(params.delay)
        await asyncio.sleep(random.uniform(low, high))
    if params.typing:
        await show_typing(wawp, session, chat, params.typing)


def lead_time(params: object) -> float:
    """Extra seconds an action's timeout allows for its pause and typing (0 for other kinds)."""
    return params.lead_time if isinstance(params, HumanTouch) else 0.0


def shown(params: HumanTouch) -> JSONDict:
    """What a dry run says the pause and typing will be."""
    said: JSONDict = {}
    if params.delay:
        low, high = delay_range(params.delay)
        pause = (
            format_duration(low)
            if low == high
            else f"a random {format_duration(low)}-{format_duration(high)}"
        )
        said["delay"] = f"waits {pause} first"
    if params.typing:
        said["typing"] = f'shows "typing…" for {format_duration(params.typing)}, then sends'
    return said
