"""`debounce:` as rules files write it: a quiet window, in the short form or the long one.

    debounce: 5s                      # answer once the chat has been quiet for 5 s
    debounce: {wait: 5s, max: 30s}    # …but never make a message wait more than 30 s
    debounce: off                     # this rule answers every message at once (global default off)

What the window does at run time is botengine/debounce.py's; this is only the shape and its
checks (the JSON Schema and the reference are generated from it), shared by rules files and the
engine's `--debounce` setting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from botengine.durations import Duration, format_duration

MAX_FACTOR = 4  # without `max:`, a message waits at most this many windows (a chatty customer)
LONGEST = 3600.0  # no window (or maximum wait) may be longer: an answer an hour late is no answer


class QuietWindow(BaseModel):
    """How long a chat must be quiet before its burst of messages is answered, as one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wait: Duration = Field(description="answer after this long without a new message, e.g. 5s")
    max: Duration | None = Field(
        None, description=f"but at the latest this long after the first message (default {MAX_FACTOR}× wait)"
    )

    @model_validator(mode="after")
    def _sensible(self) -> QuietWindow:
        if self.wait > LONGEST or (self.max or 0) > LONGEST:
            raise ValueError(
                f"a quiet window is at most {format_duration(LONGEST)} (an answer must not wait longer)"
            )
        if self.max is not None and self.wait and self.max < self.wait:
            raise ValueError(
                f"max ({format_duration(self.max)}) is shorter than wait ({format_duration(self.wait)}): "
                "max is the longest a message waits, so it must be at least wait"
            )
        return self

    @property
    def on(self) -> bool:
        """False for `debounce: off` (or 0): the rule answers every message at once."""
        return self.wait > 0

    @property
    def longest(self) -> float:
        """The longest the first message of a burst waits for its answer."""
        return self.max if self.max is not None else MAX_FACTOR * self.wait

    def describe(self) -> str:
        """`5s (at most 20s)`: for traces, dry runs and logs."""
        return f"{format_duration(self.wait)} (at most {format_duration(self.longest)})"


def _short_form(value: Any) -> Any:
    """`5s`, `90`, `off` and `false` stand for `{wait: …}`."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "no", "false")):
        return {"wait": 0}
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"wait": value}
    return value


Debounce = Annotated[
    QuietWindow,
    BeforeValidator(_short_form, json_schema_input_type=str | float | QuietWindow),
]
"""A pydantic field type: `5s`, `off`, or `{wait: 5s, max: 30s}`; holds a QuietWindow."""


def parse_quiet_window(text: str) -> QuietWindow | None:
    """The `--debounce` setting (`5s`, `5s/30s` for a maximum wait, `off`); None when off."""
    wait, _, longest = text.partition("/")
    try:
        window = QuietWindow.model_validate(_short_form(wait) | ({"max": longest} if longest else {}))
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"{text!r}: {problem} (write 5s, 5s/30s or off)") from None
    return window if window.on else None


HELD_TYPES = ("message", "message.any")  # only incoming messages wait for a quiet window


def quiet_problem(window: QuietWindow, on: tuple[str, ...], takes: Callable[[str], bool]) -> str | None:
    """Why `debounce:` on a rule of these event types (`takes` says which) would change nothing
    (a warning), or None."""
    if not window.on or any(takes(held) for held in HELD_TYPES):
        return None
    return (
        f"debounce: only incoming messages wait for a quiet window; this rule's events "
        f"({', '.join(on)}) are answered at once"
    )
