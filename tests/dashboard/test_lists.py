"""The dashboard's Lists page: who is on the lists the rules keep (when, by whom, why, until when),
a person added and removed by hand (login + CSRF, admins only), hostile input refused in words,
and the page at desktop and phone width in a real Chromium (saved to build/screenshots)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from botengine.store_lists import StoreLists
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine
from tests.dashboard.conftest import TOKEN
from tests.dashboard.test_screenshots import SHOTS

CLUB = """
rules:
  - name: join
    if: {equals: join}
    do:
      - add_to: {list: vip, expires: 30d, note: "joined by WhatsApp"}
      - reply: "Welcome to the club"
  - name: staff
    if: {equals: staff please}
    do: [{add_to: staff}]
  - name: vip-hello
    if: {equals: hello, sender: {in: vip}}
    do: [{reply: "Hello VIP"}]
"""


@pytest.fixture
def club(tmp_path: Path, fake: FakeWawp) -> Iterator[RunningEngine]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "club.yaml").write_text(textwrap.dedent(CLUB))
    logins = {"admin_token": TOKEN, "dashboard_viewer": "eve", "dashboard_viewer_password": "look-only"}
    with running_engine(rules, tmp_path / "data", wawp_url=fake.url, **logins) as bot:
        for n, name in enumerate(["Alice", "Bob", "Chen"]):
            bot.post(make_event(text="join", name=name, sender=f"4477009001{n:02d}@c.us"))
        fake.wait_for(3, "/v2/send/text")
        yield bot


@pytest.fixture
def client(club: RunningEngine) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=club.url + "/dashboard") as logged_in:
        assert logged_in.post("/login", data={"token": TOKEN}).status_code == 303
        yield logged_in


def csrf_of(page: str) -> str:
    return re.findall(r'name="csrf" value="([0-9a-f]+)"', page)[0]


def members(bot: RunningEngine) -> list[tuple[str, str, str, str]]:
    found = bot.call(lambda e: StoreLists(e.storage).members())
    return [(m.list, m.jid, m.by, m.note) for m in found]


def test_the_page_shows_who_is_on_each_list_and_why(club: RunningEngine, client: httpx.Client) -> None:
    page = client.get("/lists").text
    assert page.count('class="member"') == 3
    assert "<b>+447700900100</b>" in page and "447700900100@c.us" in page  # the number, then the JID
    assert "joined by WhatsApp" in page and "by rule join" in page
    assert re.search(r'id="list-staff"[^>]*>staff <b>0</b>', page)  # kept by a rule, no one yet
    assert ">Lists</a>" in page  # in the menu


def test_add_and_remove_by_hand_and_the_rules_see_it(
    club: RunningEngine, client: httpx.Client, fake: FakeWawp
) -> None:
    csrf = csrf_of(client.get("/lists").text)
    form = {"csrf": csrf, "list": "vip", "who": "+1 555 000 4444", "note": "regular", "expires": "1d"}
    answer = client.post("/lists/add", data=form, follow_redirects=True)
    assert answer.status_code == 200 and "Added +15550004444 to vip." in answer.text
    assert ("vip", "15550004444@c.us", "admin (token), on the dashboard", "regular") in members(club)
    club.post(make_event(text="hello", sender="15550004444@c.us"))
    fake.wait_for(4, "/v2/send/text")
    assert fake.calls_to("/v2/send/text")[-1].json["message"] == "Hello VIP"
    form = {"csrf": csrf, "list": "vip", "who": "15550004444@c.us", "back": "vip"}
    answer = client.post("/lists/remove", data=form, follow_redirects=True)
    assert "Took 15550004444@c.us off vip." in answer.text
    assert str(answer.url).endswith("/lists?list=vip&done=took+15550004444%40c.us+off+vip")  # back on vip
    assert [m for m in members(club) if m[1] == "15550004444@c.us"] == []


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"list": "vip", "who": "../../etc/passwd"}, "is not a phone number or a WhatsApp JID"),
        ({"list": "vip", "who": "1" * 5000}, "is not a phone number or a WhatsApp JID"),
        ({"list": "vip", "who": "447700900123@c.us\x1fstaff"}, "is not a phone number or a WhatsApp JID"),
        ({"list": "../vip", "who": "447700900123"}, "No rule keeps a list named '../vip'"),
        ({"list": "vpi", "who": "447700900123"}, "No rule keeps a list named 'vpi'"),
        ({"list": "vip", "who": "447700900123", "expires": "soon"}, "is not a duration"),
        ({"list": "vip", "who": "447700900123", "session": "a\x1fb"}, "the session is a Wawp instance name"),
    ],
)
def test_hostile_input_is_refused_in_words(
    club: RunningEngine, client: httpx.Client, fields: dict[str, str], said: str
) -> None:
    answer = client.post("/lists/add", data={"csrf": csrf_of(client.get("/lists").text), **fields})
    assert answer.status_code == 400
    assert said in answer.text.replace("&#39;", "'")
    assert len(members(club)) == 3


def test_a_forged_form_and_a_viewer_change_nothing(club: RunningEngine, client: httpx.Client) -> None:
    form = {"list": "vip", "who": "447700900999"}
    assert client.post("/lists/add", data={**form, "csrf": "forged"}).status_code == 403
    assert httpx.post(club.url + "/dashboard/lists/add", data=form).status_code == 401
    with httpx.Client(base_url=club.url + "/dashboard") as viewer:
        assert viewer.post("/login", data={"user": "eve", "password": "look-only"}).status_code == 303
        page = viewer.get("/lists").text
        assert 'id="add-member"' not in page and "447700900100@c.us" in page
        assert viewer.post("/lists/add", data={**form, "csrf": csrf_of(page)}).status_code == 403
        remove = {"list": "vip", "who": "447700900100@c.us", "csrf": csrf_of(page)}
        assert viewer.post("/lists/remove", data=remove).status_code == 403
    assert len(members(club)) == 3


def test_a_huge_list_comes_in_pages(club: RunningEngine, client: httpx.Client) -> None:
    async def fill(engine: Any) -> None:
        lists = StoreLists(engine.storage)
        for n in range(1200):
            await lists.add("default", "staff", f"1555{n:07d}@c.us", by="import")

    club.call(fill, timeout=60)
    page = client.get("/lists", params={"list": "staff", "page": "24"}).text
    assert page.count('class="member"') == 50 and "page 24 of 24 (1200 in all)" in page


def test_the_page_at_desktop_and_phone_width(browser: Any, club: RunningEngine) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(club.url + "/dashboard/login")
        page.fill("input[name=token]", TOKEN)
        page.click("#login")
        page.wait_for_url("**/dashboard/")
        page.click("text=Lists")
        page.select_option("#add-list", "vip")
        page.fill("#add-who", "+44 7700 900777")
        page.fill("#add-note", "met at the market")
        page.click("#add")
        page.wait_for_selector("#done")
        assert page.locator("#members tr.member").count() == 4  # added again at 390: the same person
        page.screenshot(path=str(SHOTS / f"lists-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        context.close()
