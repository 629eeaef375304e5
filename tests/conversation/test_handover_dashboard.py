"""The dashboard's chats with a person: listed with since, until and why, and given back to the
bot with Resume (a login, the session's CSRF token and an admin session needed), over HTTP and in
a real browser at desktop and phone width (screenshots in build/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from botengine.handover import handover_key
from botengine.sample_events import DEFAULT_SENDER
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine
from tests.actions.conftest import EngineFactory
from tests.conftest import REPO
from tests.conversation.test_handover import RULES, Chat, person_writes, replies
from tests.dashboard.conftest import TOKEN, browser

__all__ = ["browser"]

SHOTS = REPO / "build" / "screenshots"
VIEWER = {"dashboard_viewer": "auditor", "dashboard_viewer_password": "look-only"}


@pytest.fixture
def bot(engine: EngineFactory, fake: FakeWawp) -> Iterator[RunningEngine]:
    rules = RULES.replace("FOR", "12h").replace("OTHER", "447700900123@c.us")
    with engine(rules, admin_token=TOKEN, **VIEWER) as running:
        yield running


@contextmanager
def logged_in(bot: RunningEngine, **login: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bot.url + "/dashboard", follow_redirects=False) as client:
        assert client.post("/login", data=login or {"token": TOKEN}).status_code == 303
        yield client


def csrf_of(page: str) -> str:
    return re.findall(r'name="csrf" value="([0-9a-f]+)"', page)[0]


def test_resume_in_the_dashboard_gives_the_chat_back_to_the_bot(bot: RunningEngine, fake: FakeWawp) -> None:
    chat = Chat(bot, fake)
    chat.post(person_writes("I'll take this one"))
    form = {"session": "default", "chat": DEFAULT_SENDER}
    with logged_in(bot) as admin, logged_in(bot, user="auditor", password="look-only") as viewer:
        page = admin.get("/handovers").text
        assert DEFAULT_SENDER in page and "you answered on the phone" in page and "Resume the bot" in page
        seen = viewer.get("/handovers").text
        assert DEFAULT_SENDER in seen and "Resume the bot" not in seen  # a viewer sees, and cannot resume
        assert viewer.post("/handovers/resume", data={**form, "csrf": csrf_of(seen)}).status_code == 403
        assert httpx.post(bot.url + "/dashboard/handovers/resume", data=form).status_code == 401
        assert admin.post("/handovers/resume", data=form).status_code == 403  # no CSRF token
        assert bot.get(handover_key("default", DEFAULT_SENDER)) is not None
        done = admin.post("/handovers/resume", data={**form, "csrf": csrf_of(page)})
        assert done.status_code == 303
        after = admin.get(done.headers["location"].removeprefix("/dashboard")).text
    assert f"The bot answers in {DEFAULT_SENDER} again." in after and 'id="no-handovers"' in after
    chat.post(make_event(text="hello"), echoes=1)
    assert replies(fake) == ["Hi! How can I help?"]


def test_the_page_at_desktop_and_phone_width(browser: Any, bot: RunningEngine, fake: FakeWawp) -> None:
    chat = Chat(bot, fake)
    for number in ("447441429009@c.us", "120363025912345678@g.us", DEFAULT_SENDER):
        chat.post(person_writes("I'll take this one", chat=number))
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        page.goto(bot.url + "/dashboard/login")
        page.fill("input[name=token]", TOKEN)
        page.click("#login")
        page.wait_for_url("**/dashboard/")
        page.goto(bot.url + "/dashboard/handovers")
        page.screenshot(path=str(SHOTS / f"handovers-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        context.close()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(bot.url + "/dashboard/login")
    page.fill("input[name=token]", TOKEN)
    page.click("#login")
    page.goto(bot.url + "/dashboard/handovers")
    page.locator("tr.handover", has_text=DEFAULT_SENDER).locator("button.resume").click()
    page.wait_for_selector("#done")
    assert page.locator("tr.handover").count() == 2
    assert bot.get(handover_key("default", DEFAULT_SENDER)) is None
    assert Path(SHOTS / "handovers-390.png").is_file()
