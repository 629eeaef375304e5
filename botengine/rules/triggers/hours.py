"""Time: `hours` and `outside_hours`, weekly windows in a time zone, with dates open or closed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botengine.rules.dates import DateError, DateSpan, parse_span
from botengine.rules.triggers.base import (
    Check,
    CompileContext,
    MatchContext,
    TriggerError,
    as_list,
    register,
)
from botengine.rules.triggers.values import (
    HoursWindow,
    InList,
)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_days(value: str | list[str]) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `daily`, `[mon, wed]`, full names too; ranges may wrap (`fri-mon`)."""
    parts = [p.strip().lower() for part in as_list(value) for p in str(part).split(",") if p.strip()]
    days: set[int] = set()
    for part in parts:
        if part in ("daily", "every day", "all", "mon-sun"):
            return frozenset(range(7))
        start, _, end = part.partition("-")
        first, last = start.strip()[:3], (end.strip() or start.strip())[:3]
        if first not in _DAYS or last not in _DAYS:
            raise TriggerError(
                f"{part!r} is not a day or range of days", "write days like mon-fri, sat,sun or daily"
            )
        i = _DAYS.index(first)
        days.add(i)
        while i != _DAYS.index(last):
            i = (i + 1) % 7
            days.add(i)
    return frozenset(days)


def parse_clock(value: str | int) -> time:
    # YAML 1.1 reads an unquoted 9:30 as the number 570 (base 60): turn it back into a time
    if isinstance(value, int):
        hours, minutes = divmod(value, 60)
        if 0 <= hours <= 24 and 0 <= minutes < 60:
            return time(hours % 24, minutes)
        raise TriggerError(f"{value!r} is not a time of day", 'write it like "09:00" (in quotes)')
    found = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
    if not found or int(found.group(1)) > 24 or int(found.group(2)) > 59:
        raise TriggerError(f"{value!r} is not a time of day", 'write it like "09:00" (in quotes)')
    return time(int(found.group(1)) % 24, int(found.group(2)))


@dataclass(frozen=True)
class Window:
    days: frozenset[int]
    start: time
    end: time
    tz: ZoneInfo
    dates: tuple[DateSpan, ...] = ()  # only on these dates (then `days` does not count)
    closed: tuple[DateSpan, ...] = ()

    def contains(self, moment: datetime) -> bool:
        return self.why_not(moment) is None

    def why_not(self, moment: datetime) -> str | None:
        """None when `moment` is inside the window, else why not ("closed on 25 Dec")."""
        local = moment.astimezone(self.tz)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            day = local.date() if self.start <= clock < self.end else None
        elif self.start == self.end or clock >= self.start:  # 00:00–00:00: the whole day
            day = local.date()
        else:
            day = (local - timedelta(days=1)).date() if clock < self.end else None
        if day is None:
            return "outside the hours"
        if self.dates:
            if not any(span.contains(day) for span in self.dates):
                return f"{day:%d %b} is not one of its dates"
        elif day.weekday() not in self.days:
            return "outside the days"
        closed = next((span for span in self.closed if span.contains(day)), None)
        return None if closed is None else f"closed on {day:%d %b} ({closed.source})"


def _date_spans(value: Any, ctx: CompileContext, what: str) -> tuple[DateSpan, ...]:
    """The dates of `dates:` or `closed:`: written in the rule, or read from a list file."""
    spans: list[DateSpan] = []
    for entry in as_list(value) if value is not None else []:
        if not isinstance(entry, InList):
            try:
                spans.append(parse_span(entry))
            except DateError as exc:
                raise TriggerError(f"{what}: {exc}", exc.hint) from exc
            continue
        named = ctx.named_list(entry.in_)
        for line in named.entries:
            try:
                spans.append(parse_span(line))
            except DateError as exc:
                # named by its line, never quoted: a list file may hold anything
                raise TriggerError(
                    f"{what}: line {named.line_of(line)} of {named.name} is not a date", exc.hint
                ) from exc
    return tuple(spans)


def _windows(value: Any, ctx: CompileContext) -> tuple[list[Window], str]:
    windows = []
    for item in as_list(value):
        try:
            tz = ZoneInfo(item.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise TriggerError(
                f"unknown time zone {item.tz!r}", "use an IANA name like Europe/London or Asia/Dubai"
            ) from exc
        windows.append(
            Window(
                parse_days(item.days),
                parse_clock(item.from_),
                parse_clock(item.to),
                tz,
                _date_spans(item.dates, ctx, "dates"),
                _date_spans(item.closed, ctx, "closed"),
            )
        )
    label = "; ".join(_window_label(w) for w in windows)
    return windows, label


def _window_label(window: Window) -> str:
    days = ", ".join(s.source for s in window.dates) if window.dates else days_label(window.days)
    label = f"{days} {window.start:%H:%M}-{window.end:%H:%M} {window.tz.key}"
    if window.closed:
        label += " (closed " + ", ".join(s.source for s in window.closed) + ")"
    return label


def days_label(days: frozenset[int]) -> str:
    return "daily" if len(days) == 7 else ",".join(_DAYS[d] for d in sorted(days))


@register(
    "hours",
    HoursWindow | list[HoursWindow],
    "inside a weekly time window (business hours), not on closed dates",
    'hours: {days: mon-fri, from: "09:00", to: "18:00", tz: Europe/London}',
)
def _hours(value: HoursWindow | list[HoursWindow], ctx: CompileContext) -> Check:
    windows, label = _windows(value, ctx)

    def check(m: MatchContext) -> str | None:
        reasons = [w.why_not(m.now) for w in windows]
        if None in reasons:
            return None
        closed = next((r for r in reasons if r and r.startswith("closed")), None)
        return f"{m.now:%a %H:%M} UTC is outside {label}" + (f": {closed}" if closed else "")

    return Check("hours", check)


@register(
    "outside_hours",
    HoursWindow | list[HoursWindow],
    "outside a weekly time window (closed hours), or on a closed date",
    'outside_hours: {days: mon-fri, from: "09:00", to: "18:00", tz: Europe/London}',
)
def _outside_hours(value: HoursWindow | list[HoursWindow], ctx: CompileContext) -> Check:
    windows, label = _windows(value, ctx)

    def check(m: MatchContext) -> str | None:
        return f"{m.now:%a %H:%M} UTC is inside {label}" if any(w.contains(m.now) for w in windows) else None

    return Check("outside_hours", check)
