"""Dates as shop owners write them, for `hours` and `outside_hours` (holidays, closures).

    closed: [2025-12-25, "24-26 Dec", "Dec 31", "12-24..12-26", "2026-04-03 to 2026-04-06"]

One date (`2025-12-25`, `25 Dec 2025`) or a range (`..`, `to`, a dash between days). Without a
year it comes back every year, and a yearless range may run over the new year (`24 Dec - 2 Jan`).
Month names in English, three letters or in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_HINT = 'write dates like 2025-12-25, 12-25 (every year), "25 Dec", or a range like "24-26 Dec"'

_ISO = re.compile(r"(?:(\d{4})-)?(\d{1,2})-(\d{1,2})")
_DAY_MONTH = re.compile(r"(\d{1,2})\.?\s+([a-z]+)\.?(?:\s+(\d{4}))?")
_MONTH_DAY = re.compile(r"([a-z]+)\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?")
_DAYS_MONTH = re.compile(r"(\d{1,2})\s*[-–—]\s*(\d{1,2})\s+([a-z]+)\.?(?:\s+(\d{4}))?")  # 24-26 Dec
_MONTH_DAYS = re.compile(r"([a-z]+)\.?\s+(\d{1,2})\s*[-–—]\s*(\d{1,2})(?:,?\s+(\d{4}))?")  # Dec 24-26
_RANGE = re.compile(r"\s*(?:\.\.|\bto\b|\s[-–—]\s|–|—)\s*")


class DateError(ValueError):
    """A date or range that cannot be read; the message says how to write one."""

    hint = _HINT


@dataclass(frozen=True)
class Day:
    """A calendar day; without a year, that day every year."""

    year: int | None
    month: int
    day: int

    def key(self) -> tuple[int, int]:
        return self.month, self.day

    def __str__(self) -> str:
        text = f"{self.day} {_MONTHS[self.month - 1].title()}"
        return f"{text} {self.year}" if self.year else text


@dataclass(frozen=True)
class DateSpan:
    """A day or a run of days (inclusive), as written."""

    first: Day
    last: Day
    source: str

    def contains(self, when: date) -> bool:
        if self.first.year is not None and self.last.year is not None:
            start = date(self.first.year, self.first.month, self.first.day)
            end = date(self.last.year, self.last.month, self.last.day)
            return start <= when <= end
        here = (when.month, when.day)
        start_key, end_key = self.first.key(), self.last.key()
        if start_key <= end_key:
            return start_key <= here <= end_key
        return here >= start_key or here <= end_key  # over the new year


def _month(word: str) -> int:
    found = word[:3].lower()
    if found not in _MONTHS or (len(word) > 3 and not _full_month(word)):
        raise DateError(f"{word!r} is not a month")
    return _MONTHS.index(found) + 1


def _full_month(word: str) -> bool:
    names = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "sept",
    ]
    return word.lower().rstrip(".") in names


def _day(year: int | None, month: int, day: int, source: str) -> Day:
    try:
        date(year or 2024, month, day)  # 2024: a leap year, so 29 Feb is a day
    except ValueError as exc:
        raise DateError(f"{source!r} is not a date: {exc}") from exc
    return Day(year, month, day)


def _one(text: str) -> Day:
    text = text.strip().lower()
    if found := _ISO.fullmatch(text):
        year = int(found.group(1)) if found.group(1) else None
        return _day(year, int(found.group(2)), int(found.group(3)), text)
    if found := _DAY_MONTH.fullmatch(text):
        year = int(found.group(3)) if found.group(3) else None
        return _day(year, _month(found.group(2)), int(found.group(1)), text)
    if found := _MONTH_DAY.fullmatch(text):
        year = int(found.group(3)) if found.group(3) else None
        return _day(year, _month(found.group(1)), int(found.group(2)), text)
    raise DateError(f"{text!r} is not a date")


def parse_span(value: Any) -> DateSpan:
    """One entry: a date (YAML may have read it as one already) or a range of them."""
    if isinstance(value, date):
        day = Day(value.year, value.month, value.day)
        return DateSpan(day, day, value.isoformat())
    if not isinstance(value, str) or not value.strip():
        raise DateError(f"{value!r} is not a date")
    text = value.strip()
    lowered = text.lower()
    if found := _DAYS_MONTH.fullmatch(lowered):
        month, year = _month(found.group(3)), int(found.group(4)) if found.group(4) else None
        first, last = (_day(year, month, int(found.group(i)), text) for i in (1, 2))
        return _span(first, last, text)
    if found := _MONTH_DAYS.fullmatch(lowered):
        month, year = _month(found.group(1)), int(found.group(4)) if found.group(4) else None
        first, last = (_day(year, month, int(found.group(i)), text) for i in (2, 3))
        return _span(first, last, text)
    parts = [p for p in _RANGE.split(lowered) if p] if not _ISO.fullmatch(lowered) else [lowered]
    if len(parts) == 1:
        day = _one(parts[0])
        return DateSpan(day, day, text)
    if len(parts) != 2:
        raise DateError(f"{text!r} is not a date or a range of two dates")
    first, last = _one(parts[0]), _one(parts[1])
    if last.year is None and first.year is not None:
        last = Day(first.year, last.month, last.day)
    if first.year is None and last.year is not None:
        first = Day(last.year, first.month, first.day)
    return _span(first, last, text)


def _span(first: Day, last: Day, text: str) -> DateSpan:
    if (
        first.year is not None
        and last.year is not None
        and (first.year, *first.key()) > (last.year, *last.key())
    ):
        raise DateError(f"{text!r} ends before it starts")
    return DateSpan(first, last, text)


def parse_spans(values: Any) -> tuple[DateSpan, ...]:
    """Every entry of a list (or a single entry); DateError names the first unreadable one."""
    items = values if isinstance(values, list | tuple) else [values]
    return tuple(parse_span(item) for item in items)
