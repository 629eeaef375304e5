"""When a scheduled rule runs: `schedule:` as written, and its timetable.

    - name: weekly-offer
      on: schedule
      schedule: {cron: "0 9 * * mon", tz: Europe/London, session: shop, missed: once}
      do: [...]

Three ways to say when: `every: 1h` (aligned on the clock: 00:00, 01:00, …), `at: "09:00"` (or a
list of times) on `days:` (mon-fri, sat,sun, daily), or `cron:` (five fields, as in crontab).
Times are in the rule's `tz` (IANA name, default UTC), daylight saving included: cron
expressions are evaluated by cronsim, which follows Debian's cron (a time skipped by a clock
change runs right after it; a time repeated runs once).

`missed:` says what to do about runs that fell due while no engine was running: `skip` them
(the default) or run the latest one `once`. `session:` names the Wawp session (the number) the
rule's messages go out from: a schedule has no incoming event to take it from.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import BaseModel, ConfigDict, Field, model_validator

from botengine.durations import Duration, format_duration
from botengine.rules.triggers import Check, MatchContext, TriggerError
from botengine.rules.triggers.hours import days_label, parse_clock, parse_days

MIN_EVERY = 1.0  # seconds; cron lines go by the minute
MAX_TICKS = 10_000  # ticks looked at in one go (a year of hourly runs), so nothing loops for long
_DAY_NUMBERS = ("1", "2", "3", "4", "5", "6", "0")  # our mon..sun as cron's day-of-week numbers


class ScheduleModel(BaseModel):
    """`schedule:` as written in a rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Duration | None = Field(None, description="run every this long, e.g. 15m, 1h, 1d")
    at: str | int | list[str | int] | None = Field(None, description='a time of day "09:00", or a list')
    days: str | list[str] | None = Field(None, description="with at: or every:, e.g. mon-fri (default daily)")
    cron: str | None = Field(None, description='five crontab fields, e.g. "0 9 * * mon"')
    tz: str = Field("UTC", description="IANA time zone of the times, e.g. Europe/London")
    missed: Literal["skip", "once"] = Field("skip", description="runs missed while down: skip, or run once")
    session: str = Field(min_length=1, max_length=256, description="the Wawp session (number) to send from")

    @model_validator(mode="after")
    def _one_way(self) -> ScheduleModel:
        given = [name for name in ("every", "at", "cron") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give one of every:, at: or cron:")
        if self.cron is not None and self.days is not None:
            raise ValueError("days: goes with at: or every:; in cron: the fifth field is the days")
        return self


@dataclass(frozen=True)
class Timetable:
    """The moments a scheduled rule runs: cron lines, or a fixed period, in a time zone."""

    tz: ZoneInfo
    crons: tuple[str, ...] = ()
    every: float | None = None
    days: frozenset[int] = frozenset(range(7))
    missed: Literal["skip", "once"] = "skip"
    session: str = "default"
    label: str = ""

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Every run time in (after, until], oldest first (at most MAX_TICKS of them)."""
        count = 0
        moment = after
        while count < MAX_TICKS:
            following = self.next_after(moment)
            if following is None or following > until:
                return
            yield following
            moment = following
            count += 1

    def next_after(self, moment: datetime) -> datetime | None:
        """The first run time strictly after `moment` (UTC), None when there is none in 50 years."""
        local = moment.astimezone(self.tz)
        if self.every is not None:
            return self._next_every(local)
        found = []
        for expr in self.crons:
            try:
                found.append(next(CronSim(expr, local)))
            except StopIteration:
                continue
        return min(found).astimezone(UTC) if found else None

    def _next_every(self, local: datetime) -> datetime | None:
        assert self.every is not None
        # aligned on the epoch, so every worker and every restart agrees on the same moments
        step = math.floor(local.timestamp() / self.every) + 1
        for _ in range(400):  # days looked at: more than a year
            candidate = datetime.fromtimestamp(step * self.every, UTC).astimezone(self.tz)
            if candidate.weekday() in self.days:
                return candidate.astimezone(UTC)
            midnight = datetime.combine(candidate.date() + timedelta(days=1), time(), self.tz)
            step = math.ceil(midnight.timestamp() / self.every)  # the day's first run
        return None

    def describe(self) -> str:
        return self.label


def compile_schedule(model: ScheduleModel) -> Timetable:
    """The timetable of a `schedule:`; TriggerError (message and hint) when it cannot be one."""
    try:
        tz = ZoneInfo(model.tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TriggerError(f"unknown time zone {model.tz!r}", "use an IANA name like Europe/London") from exc
    days = parse_days(model.days) if model.days is not None else frozenset(range(7))
    if not days:
        raise TriggerError("no days to run on", "write days like mon-fri, sat,sun or daily")
    base = Timetable(tz=tz, missed=model.missed, session=model.session, days=days)
    if model.every is not None:
        if model.every < MIN_EVERY:
            raise TriggerError(f"every: {format_duration(model.every)} is too often", "the least is 1s")
        label = _labelled(f"every {format_duration(model.every)}", days, tz)
        return replace(base, every=model.every, label=label)
    if model.cron is not None:
        crons: tuple[str, ...] = (model.cron.strip(),)
        label = f"{_explain(crons[0])} ({tz.key})"
    else:
        times = model.at if isinstance(model.at, list) else [model.at]
        clocks = [parse_clock(t) for t in times if t is not None]
        dow = "*" if len(days) == 7 else ",".join(_DAY_NUMBERS[d] for d in sorted(days))
        crons = tuple(f"{c.minute} {c.hour} * * {dow}" for c in clocks)
        label = _labelled("at " + ", ".join(f"{c:%H:%M}" for c in clocks), days, tz)
    for expr in crons:
        try:
            CronSim(expr, datetime.now(tz))
        except CronSimError as exc:
            hint = 'five fields: minute hour day month weekday, like "0 9 * * mon"'
            raise TriggerError(f"{expr!r} is not a cron line: {exc}", hint) from exc
    return replace(base, crons=crons, label=label)


def _labelled(what: str, days: frozenset[int], tz: ZoneInfo) -> str:
    on = "" if len(days) == 7 else f" on {days_label(days)}"
    return f"{what}{on} ({tz.key})"


def _explain(expr: str) -> str:
    try:
        return CronSim(expr, datetime.now(UTC)).explain()
    except (CronSimError, ValueError):
        return f"cron {expr!r}"


def tick_window(timetable: Timetable) -> timedelta:
    """How late a run may start and still count as on time (not missed): a minute, or less for
    schedules that run more often than every two minutes."""
    period = timetable.every or 3600.0
    return timedelta(seconds=min(60.0, period / 2))


def own_ticks(rule: str) -> Check:
    """The check every scheduled rule starts with: the run is one of its own, not another rule's."""

    def check(m: MatchContext) -> str | None:
        owner = m.view.payload.get("rule")
        return None if owner == rule else f"a run of scheduled rule {owner!r}"

    return Check("schedule", check)
