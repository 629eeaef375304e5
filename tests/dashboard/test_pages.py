"""The dashboard's pages over HTTP: events and dead letters as paged, filtered tables with bulk
replay and drop, an event's list entry that follows its retries into the dead letters, one time
format in the zone the person picked (UTC on hover), and a gap chart that an outlier cannot wreck."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from botengine.dashboard.charts import gap_chart, human_seconds
from botengine.dashboard.timeline import Minute
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine
from tests.dashboard.conftest import TOKEN


@pytest.fixture
def client(bot: RunningEngine) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bot.url + "/dashboard", follow_redirects=False) as logged_in:
        assert logged_in.post("/login", data={"token": TOKEN}).status_code == 303
        yield logged_in


def csrf_of(page: str) -> str:
    return re.findall(r'name="csrf" value="([0-9a-f]+)"', page)[0]


def test_events_come_in_pages_and_filter_by_outcome_and_rule(
    bot: RunningEngine, fake: FakeWawp, client: httpx.Client
) -> None:
    for n in range(60):
        bot.post(make_event(text="hello" if n % 3 == 0 else "just chatting", sender=f"1555020{n:04d}@c.us"))
    bot.wait_processed(60)
    first = client.get("/events").text
    assert first.count('<tr class="event">') == 50 and "page 1 of 2 (60 in all)" in first
    second = client.get("/events?page=2").text
    assert second.count('<tr class="event">') == 10
    greeted = client.get("/events", params={"rule": "greet"}).text
    assert greeted.count('<tr class="event">') == 20 and "20 in all" in greeted
    quiet = client.get("/events", params={"outcome": "no_match"}).text
    assert quiet.count('<tr class="event">') == 40 and "40 in all" in quiet
    searched = client.get("/events", params={"q": "1555020"}).text
    assert 'href="?q=1555020&amp;page=2"' in searched  # the filter is kept in the page links


def test_an_event_that_ends_in_the_dead_letters_says_so_in_the_list(tmp_path: Path, fake: FakeWawp) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(f"rules:\n  - name: crm\n    do: [{{webhook: '{fake.url}/hooks/crm'}}]\n")
    fake.fail("500", times=None, path="/hooks/crm")
    with running_engine(rules, tmp_path / "data", wawp_url=fake.url, admin_token=TOKEN, retries=1) as bot:
        bot.post(make_event(text="order"))
        bot.wait_until(bot.dead_letters, what="the dead letter after one retry")
        with httpx.Client(base_url=bot.url + "/dashboard") as client:
            client.post("/login", data={"token": TOKEN})
            row = client.get("/events").text.split('<tr class="event">')[1]
    assert "failed (dead letter)" in row and "retrying" not in row


def test_dead_letters_filter_and_go_in_bulk(bot: RunningEngine, fake: FakeWawp, client: httpx.Client) -> None:
    fake.fail("400", times=None, path="/hooks/crm")
    for n in range(55):
        bot.post(make_event(text=f"order {n}", sender=f"1555030{n:04d}@c.us"))
    bot.wait_until(lambda: len(bot.dead_letters()) == 55, timeout=30, what="55 dead letters")
    page = client.get("/dlq").text
    assert page.count('<tr class="entry">') == 50 and "page 1 of 2 (55 in all)" in page
    ids = [i for i, _ in bot.dead_letters()]
    found = client.get("/dlq", params={"q": ids[5]}).text  # the search reads ids, chats and errors
    assert found.count('<tr class="entry">') == 1 and "1 in all" in found
    csrf = csrf_of(page)
    dropped = client.post("/dlq/bulk", data={"csrf": csrf, "verb": "drop", "id": ids[:3]})
    assert dropped.status_code == 303 and "done=drop-3" in dropped.headers["location"]
    assert len(bot.dead_letters()) == 52
    fake.clear_failures()
    replayed = client.post("/dlq/bulk", data={"csrf": csrf, "verb": "replay-every", "rule": "crm"})
    assert "done=replay-52" in replayed.headers["location"]
    assert "52 sent to run again" in client.get(bot.url + replayed.headers["location"]).text
    delivered = lambda: len([c for c in fake.calls_to("/hooks/crm") if c.status == 200])  # noqa: E731
    bot.wait_until(lambda: delivered() == 52, timeout=30, what="every replay to go through")
    assert bot.dead_letters() == []


def test_times_show_in_the_chosen_zone_with_utc_on_hover(bot: RunningEngine, client: httpx.Client) -> None:
    bot.post(make_event(text="hello"))
    bot.wait_processed(1)
    client.cookies.set("botengine_tz", "Asia/Tokyo", path="/dashboard")
    page = client.get("/events").text
    [(_, utc, shown)] = re.findall(r'<time datetime="([^"]+)" title="([^"]+)">([^<]+)</time>', page)[:1]
    assert utc.endswith(" UTC") and shown.endswith(" JST")
    assert int(shown[11:13]) == (int(utc[11:13]) + 9) % 24
    chosen = client.post(
        "/time", data={"csrf": csrf_of(page), "zone": "America/Sao_Paulo", "back": "/dashboard/events"}
    )
    assert chosen.headers["location"] == "/dashboard/events"
    assert 'botengine_tz="America/Sao_Paulo"' in chosen.headers["set-cookie"]
    client.cookies.set("botengine_tz", "Asia%2FTokyo", path="/dashboard")  # as the page's script sets it
    assert " JST</time>" in client.get("/events").text
    evil = client.post("/time", data={"csrf": csrf_of(page), "zone": "UTC", "back": "https://evil.example/"})
    assert evil.headers["location"] == "/dashboard/"  # never sent off the dashboard


def test_the_overview_names_a_file_whose_rules_are_kept(
    bot: RunningEngine, client: httpx.Client, tmp_path: Path
) -> None:
    (tmp_path / "rules" / "rules.yaml").write_text("")
    bot.wait_until(lambda: bot.engine.rules.state.kept, what="the emptied file noticed")
    page = client.get("/").text
    assert "rules.yaml is empty (it had 2 rules: greet, crm)" in page


def test_one_old_event_does_not_wreck_the_gap_chart() -> None:
    now = int(time.time()) // 60 * 60
    minutes = [Minute(now - 60 * i, gaps=[0.2, 0.3, 0.25]) for i in range(59, 0, -1)]
    minutes.append(Minute(now, gaps=[0.2, 0.3, 370 * 86400.0]))  # one event a year late
    svg = str(gap_chart(minutes))
    assert "31968000" not in svg and "370.0 d" in svg  # the outlier's value, on hover only
    assert "top of the scale: <b>0.55 s</b>" in svg  # the axis keeps the usual scale
    assert "1 off the scale" in svg
    assert svg.count("<polyline") == 2  # both lines still drawn
    assert human_seconds(0.35) == "0.35 s" and human_seconds(7200) == "2.0 h"


def test_trying_rules_in_the_dashboard_writes_nothing_to_the_engine_log(
    bot: RunningEngine, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    csrf = csrf_of(client.get("/playground").text)
    with caplog.at_level(logging.INFO):
        tried = client.post("/playground", data={"csrf": csrf, "mode": "message", "message": "hello"})
        assert "Hello Alice!" in tried.text
        bot.post(make_event(text="hello", name="Real"))  # a real event still logs as always
        bot.wait_processed(1)
    said = [r.getMessage() for r in caplog.records if r.name.startswith("botengine")]
    assert not any("would reply" in line or "Alice" in line for line in said), said
    assert any("event processed" in line for line in said)
