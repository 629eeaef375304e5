"""`hours` and `outside_hours` with dates: holidays, closures and special opening days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from botengine.rules.dates import DateError, parse_span
from botengine.rules.loader import load
from botengine.testing import make_event
from tests.rules_helpers import fired, ruleset, view, why_not, write_rules

WINDOWS = """
        - {days: mon-sat, from: "09:00", to: "18:00", tz: Europe/London,
           closed: ["24-26 Dec", {in: holidays}]}
        - {dates: 2025-12-24, from: "09:00", to: "12:00", tz: Europe/London}"""
SHOP = f"""
rules:
  - name: open
    if:
      hours:{WINDOWS}
    do: [{{reply: "We are open"}}]
  - name: closed
    if:
      outside_hours:{WINDOWS}
    do: [{{reply: "We are closed"}}]
"""


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (_at(2025, 12, 23, 10), "open"),  # an ordinary Tuesday
        (_at(2025, 12, 24, 10), "open"),  # Christmas Eve: the short day
        (_at(2025, 12, 24, 13), "closed"),  # …after noon
        (_at(2025, 12, 25, 10), "closed"),  # closed 24-26 Dec
        (_at(2025, 12, 26, 10), "closed"),
        (_at(2025, 12, 27, 10), "open"),
        (_at(2026, 1, 1, 10), "closed"),  # from lists/holidays.txt, every year
        (_at(2026, 4, 3, 10), "closed"),  # a range in the list file
        (_at(2026, 4, 7, 10), "open"),
    ],
)
async def test_closed_dates_in_the_rule_and_in_a_list_file(
    tmp_path: Path, moment: datetime, expected: str
) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "holidays.txt").write_text("# bank holidays\n01-01\n2026-04-03 to 2026-04-06\n")
    rules = ruleset(tmp_path, SHOP)
    assert await fired(rules, view(make_event(text="hi")), now=moment) == [expected]


async def test_the_reason_names_the_closure(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: open
            if: {hours: {days: daily, from: "09:00", to: "18:00", closed: "24-26 Dec"}}
            do: [{reply: "open"}]
        """,
    )
    reason = await why_not(rules, view(make_event(text="x")), "open", now=_at(2025, 12, 25, 10))
    window = "daily 09:00-18:00 UTC (closed 24-26 Dec)"
    assert reason == f"hours: Thu 10:00 UTC is outside {window}: closed on 25 Dec (24-26 Dec)"


async def test_an_overnight_window_is_closed_by_the_date_it_starts_on(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: night
            if: {hours: {days: daily, from: "22:00", to: "06:00", closed: 2025-12-31}}
            do: [{reply: "night desk"}]
        """,
    )
    event = view(make_event(text="x"))
    assert await fired(rules, event, now=_at(2026, 1, 1, 2)) == []  # the night of 31 Dec
    assert await fired(rules, event, now=_at(2026, 1, 1, 23)) == ["night"]


def test_check_reports_an_unreadable_date_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "holidays.txt").write_text("Christmas\n")
    path = write_rules(
        tmp_path,
        """
        rules:
          - name: a
            if: {hours: {from: "09:00", to: "18:00", closed: "31 Feb"}}
            do: [{reply: "x"}]
          - name: b
            if: {outside_hours: {from: "09:00", to: "18:00", closed: {in: holidays}}}
            do: [{reply: "x"}]
        """,
    )
    problems = [str(p) for p in load([path]).errors]
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{path}:4:") and "'31 feb' is not a date" in problems[0]
    assert (
        problems[1].startswith(f"{path}:7:")
        and "closed: line 1 of lists/holidays.txt is not a date" in problems[1]
    )
    assert "24-26 Dec" in problems[0]  # the hint shows how to write one


@pytest.mark.parametrize(
    ("written", "inside", "outside"),
    [
        ("2025-12-25", date(2025, 12, 25), date(2026, 12, 25)),
        (date(2025, 12, 25), date(2025, 12, 25), date(2025, 12, 26)),
        ("12-25", date(2031, 12, 25), date(2031, 12, 24)),
        ("Dec 25", date(2031, 12, 25), date(2031, 12, 26)),
        ("25 December", date(2031, 12, 25), date(2031, 11, 25)),
        ("24–26 Dec", date(2030, 12, 26), date(2030, 12, 27)),
        ("Dec 24-26", date(2030, 12, 24), date(2030, 12, 23)),
        ("12-24..12-26", date(2030, 12, 25), date(2030, 12, 27)),
        ("24 Dec - 2 Jan", date(2031, 1, 2), date(2031, 1, 3)),
        ("2025-12-24 to 2026-01-02", date(2026, 1, 1), date(2026, 12, 25)),
    ],
)
def test_date_forms(written: object, inside: date, outside: date) -> None:
    span = parse_span(written)
    assert span.contains(inside)
    assert not span.contains(outside)


@pytest.mark.parametrize(
    "written", ["", "soon", "30 Feb", "13-01", "2025-12-26..2025-12-24", "Decembr 3", 25]
)
def test_unreadable_dates(written: object) -> None:
    with pytest.raises(DateError):
        parse_span(written)
