"""Scheduled rules: timetables, one run per tick across workers (embedded store and Redis),
catch-up after downtime, and the webhook cannot start one."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from botengine.cli import main
from botengine.rules.engine import RuleSet
from botengine.rules.loader import load
from botengine.storage.disk import DiskStorage
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine
from botengine.ticker import Ticker, last_key
from botengine.ticks import TICK_EVENT
from tests.conftest import REDIS_URL, drop_namespace, require_redis

SHOP = "447441429009@c.us"
Capture = pytest.CaptureFixture[str]


def rules_dir(tmp_path: Path, schedule: str, text: str = "run {{ time }}") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "r.yaml").write_text(
        f"""
rules:
  - name: tick
    schedule: {schedule}
    do:
      - send: {{to: "{SHOP}", text: "{text}"}}
"""
    )
    return folder


@pytest.fixture
def fake() -> Iterator[FakeWawp]:
    wawp = FakeWawp()
    with wawp.serve():
        yield wawp


def sent_runs(fake: FakeWawp) -> Counter[str]:
    return Counter(c.json["message"] for c in fake.calls_to("/v2/send/text") if c.status == 200)


# -- timetables --------------------------------------------------------------------------------


def timetable(tmp_path: Path, schedule: str):  # type: ignore[no-untyped-def]
    loaded = load([rules_dir(tmp_path, schedule)])
    assert loaded.errors == []
    [rule] = loaded.rules
    assert rule.on == (TICK_EVENT,)
    return rule.timetable


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_at_on_weekdays_in_a_time_zone_across_daylight_saving(tmp_path: Path) -> None:
    table = timetable(tmp_path, '{at: "09:00", days: [mon, fri], tz: Europe/London, session: s}')
    runs = list(table.ticks(utc(2026, 3, 22), utc(2026, 4, 4)))
    # London leaves GMT on Sunday 29 March 2026: 09:00 local is 09:00 UTC before, 08:00 after
    assert runs == [utc(2026, 3, 23, 9), utc(2026, 3, 27, 9), utc(2026, 3, 30, 8), utc(2026, 4, 3, 8)]
    assert table.describe() == "at 09:00 on mon,fri (Europe/London)"


def test_cron_and_every(tmp_path: Path) -> None:
    cron = timetable(tmp_path, '{cron: "30 8 1 * *", tz: Asia/Dubai, session: s}')
    assert list(cron.ticks(utc(2026, 1, 1), utc(2026, 3, 2))) == [
        utc(2026, 1, 1, 4, 30),
        utc(2026, 2, 1, 4, 30),
        utc(2026, 3, 1, 4, 30),
    ]
    assert cron.describe() == "At 08:30 on the first day of every month (Asia/Dubai)"
    every = timetable(tmp_path, '{every: 6h, days: "sat,sun", session: s}')
    runs = list(every.ticks(utc(2026, 3, 27, 20), utc(2026, 3, 30)))  # Friday evening to Monday
    assert runs == [utc(2026, 3, 28, h) for h in (0, 6, 12, 18)] + [
        utc(2026, 3, 29, h) for h in (0, 6, 12, 18)
    ]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("{every: 1h}", "missing 'session'"),
        ("{every: 1h, at: '09:00', session: s}", "give one of every:, at: or cron:"),
        ("{cron: '0 9 * *', session: s}", "is not a cron line"),
        ("{at: '25:00', session: s}", "is not a time of day"),
        ("{at: '09:00', days: someday, session: s}", "is not a day or range of days"),
        ("{every: 1h, tz: Moon/Base, session: s}", "unknown time zone 'Moon/Base'"),
        ("{cron: '0 9 * * *', days: mon, session: s}", "days: goes with at: or every:"),
    ],
)
def test_bad_schedules_are_reported_at_their_line(tmp_path: Path, schedule: str, expected: str) -> None:
    [problem] = load([rules_dir(tmp_path, schedule)]).errors
    assert str(problem).startswith(f"{tmp_path}/rules/r.yaml:4:")
    assert expected in str(problem)


def test_the_webhook_cannot_start_a_scheduled_rule(tmp_path: Path, fake: FakeWawp) -> None:
    with running_engine(
        rules_dir(tmp_path, "{every: 1h, session: s}"), tmp_path / "data", wawp_url=fake.url
    ) as bot:
        forged = make_event(TICK_EVENT, session="s", payload={"rule": "tick", "at": "now"})
        response = bot.post(forged)
    assert response.status_code == 422
    assert response.json()["field"] == "event"
    assert fake.calls == []


# -- one run per tick --------------------------------------------------------------------------


def test_two_tickers_on_one_embedded_store_queue_each_run_once(tmp_path: Path) -> None:
    rules = RuleSet.load([rules_dir(tmp_path, "{every: 1m, session: s}")])
    clock = [utc(2026, 5, 4, 10, 0, 30).timestamp()]

    async def run() -> list[str]:
        storage = DiskStorage(tmp_path / "data")
        try:
            a, b = (Ticker(storage, lambda: rules, clock=lambda: clock[0]) for _ in range(2))
            await a.tick()  # both start at 10:00:30
            await b.tick()
            for _ in range(5):  # five minutes, each ticker looking twice a minute
                for _ in range(2):
                    clock[0] += 30
                    await a.tick()
                    await b.tick()
            assert a.queued + b.queued == 5
            deliveries = await storage.take(100, 0.1)
            return [d.event.event_id for d in deliveries]
        finally:
            await storage.close()

    queued = asyncio.run(run())
    assert queued == [f"tick_{int(utc(2026, 5, 4, 10, m).timestamp())}_tick" for m in range(1, 6)]


@pytest.mark.parametrize(("missed", "runs"), [("skip", 0), ("once", 1)])
def test_runs_missed_while_down_are_skipped_or_run_once(tmp_path: Path, missed: str, runs: int) -> None:
    rules = RuleSet.load([rules_dir(tmp_path, f"{{every: 1h, missed: {missed}, session: s}}")])
    clock = [utc(2026, 5, 4, 9, 59, 50).timestamp()]

    async def run() -> tuple[int, object]:
        storage = DiskStorage(tmp_path / "data")
        try:
            first = Ticker(storage, lambda: rules, clock=lambda: clock[0])
            await first.tick()  # the rule is new: it starts from now
            clock[0] += 20
            await first.tick()  # 10:00:10: the 10:00 run is queued
            assert first.queued == 1
            clock[0] += 5.5 * 3600  # down until 15:30: 11:00 … 15:00 missed
            restarted = Ticker(storage, lambda: rules, clock=lambda: clock[0])
            await restarted.tick()
            await restarted.tick()  # looking again decides nothing again
            return restarted.queued, await storage.get(last_key("tick"))
        finally:
            await storage.close()

    queued, last = asyncio.run(run())
    assert queued == runs
    assert isinstance(last, dict) and last["seen"] == clock[0]


def test_a_scheduled_rule_sends_once_per_tick(tmp_path: Path, fake: FakeWawp) -> None:
    with running_engine(
        rules_dir(tmp_path, "{every: 1s, missed: once, session: shop}"), tmp_path / "data", wawp_url=fake.url
    ) as bot:
        bot.wait_until(lambda: len(sent_runs(fake)) >= 3, timeout=15, what="three runs")
    runs = sent_runs(fake)
    assert set(runs.values()) == {1}, runs
    assert all(c.query["instance_id"] == "shop" for c in fake.calls)


@pytest.mark.redis
def test_two_workers_on_redis_run_each_tick_once(tmp_path: Path, fake: FakeWawp) -> None:
    require_redis()
    namespace = f"botengine-test-{secrets.token_hex(6)}"
    folder = rules_dir(tmp_path, "{every: 1s, missed: once, session: shop}")
    redis = {"redis_url": REDIS_URL, "redis_namespace": namespace}
    try:
        with ExitStack() as stack:
            bots = [
                stack.enter_context(running_engine(folder, tmp_path / f"data{n}", wawp_url=fake.url, **redis))
                for n in range(2)
            ]
            bots[0].wait_until(lambda: len(sent_runs(fake)) >= 6, timeout=20, what="six runs")
            queued_by = [b.engine.ticker.queued for b in bots]
        runs = sent_runs(fake)
        assert set(runs.values()) == {1}, runs  # no run sent twice
        assert sum(queued_by) == len(runs)  # each run queued by exactly one of the two
    finally:
        asyncio.run(drop_namespace(namespace))


def test_the_dashboard_shows_each_scheduled_rule_with_its_next_run(tmp_path: Path, fake: FakeWawp) -> None:
    folder = rules_dir(tmp_path, '{at: "09:00", days: mon-fri, tz: Europe/London, session: shop}')
    with running_engine(folder, tmp_path / "data", wawp_url=fake.url, admin_token="t0ken") as bot:
        with httpx.Client(base_url=bot.url + "/dashboard") as client:
            assert client.post("/login", data={"token": "t0ken"}).status_code == 303
            page = client.get("/rules").text
        rule = bot.engine.rules.current.rule("tick")
    assert rule is not None and rule.timetable is not None
    following = rule.timetable.next_after(datetime.now(UTC))
    assert following is not None
    assert "at 09:00 on mon,tue,wed,thu,fri (Europe/London)" in page
    next_run = page.split('<span class="next-run">')[1].split("</span>")[0]
    assert next_run.endswith(f">{following:%Y-%m-%d %H:%M:%S} UTC</time>")  # UTC until a zone is picked


# -- inline tests and dry runs ------------------------------------------------------------------

WEEKLY = """
rules:
  - name: weekly-offer
    schedule: {cron: "0 9 * * mon", tz: Europe/London, session: shop}
    do:
      - send: {to: "447441429009@c.us", text: "Offer of {{ time[:10] }}"}
tests:
  - name: sends on Monday at 9 in London
    tick: weekly-offer
    now: "2026-12-07T09:00:00+00:00"
    expect: [{send: {text: "Offer of 2026-12-07"}}]
  - name: nothing on Tuesday
    tick: weekly-offer
    now: "2026-12-08T09:00:00+00:00"
    expect: []
  - name: wrongly expects a run at 10
    tick: weekly-offer
    now: "2026-12-07T10:00:00+00:00"
    expect: [{send: {text: "Offer of 2026-12-07"}}]
"""


def test_inline_tests_run_a_scheduled_rule_at_a_moment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.yaml").write_text(WEEKLY)
    assert main(["test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "PASS" in out.splitlines()[0] and "PASS" in out.splitlines()[1]
    assert "FAIL" in out and "wrongly expects a run at 10" in out
    assert "2 passed, 1 failed" in out


def test_dry_run_at_a_time_runs_the_rules_due_then(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "r.yaml").write_text(WEEKLY)
    assert main(["dry-run", "--rules", str(tmp_path), "--at", "2026-12-07T09:00:40", "--json"]) == 0
    [planned] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert planned["rule"] == "weekly-offer"
    assert planned["params"] == {"to": "447441429009@c.us", "text": "Offer of 2026-12-07"}
    assert main(["dry-run", "--rules", str(tmp_path), "--at", "2026-12-08T09:00"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no scheduled rule runs at 2026-12-08T09:00:00+00:00" in captured.err
    assert (
        "rule weekly-offer (At 09:00 on Monday (Europe/London)): next at 2026-12-14T09:00:00+00:00"
        in captured.err
    )
