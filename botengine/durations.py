"""Durations as people write them: `90`, `30s`, `10m`, `1h30m`, `7d`."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`; raises ValueError with a hint when it is not a duration."""
    if isinstance(text, bool):
        raise ValueError("a duration is a number of seconds or text like 30s, 10m, 2h, 7d")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    compact = text.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", compact):
        return float(compact)
    pos, total = 0, 0.0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(compact) or not compact:
        raise ValueError(f"{text!r} is not a duration; write it like 30s, 10m, 2h, 1h30m or 7d")
    return total


def format_duration(seconds: float) -> str:
    """The shortest readable form: 5400 → '1h30m'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    parts = []
    rest = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def _to_seconds(value: object) -> float:
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError("a duration is a number of seconds or text like 30s, 10m, 2h, 7d")


Duration = Annotated[float, BeforeValidator(_to_seconds)]
"""A pydantic field type: accepts `90`, `"30s"`, `"1h30m"`; holds seconds."""
