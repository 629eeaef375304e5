"""Every dashboard page at 1280 and 390 pixels wide, saved as PNG for a person to look at (not
committed: build/screenshots/, printed at the end of the run). Each page must also fit: nothing
wider than the screen, at either width."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine, running_engine
from tests.conftest import REPO
from tests.dashboard.conftest import TOKEN

SHOTS = REPO / "build" / "screenshots"
WIDTHS = (1280, 390)

SHOP = """
rules:
  - name: greet
    description: Say hello to people who greet us
    if: {chat: contact, text: '^\\s*(hi|hello|hey)\\b'}
    do: [{reply: "Hello {{ sender.name or 'there' }}! How can I help?"}]
  - name: opening-hours
    description: Answer questions about opening hours
    if: {contains: [open, hours]}
    do: [{reply: "We are open Monday to Friday, 9:00 to 18:00."}]
  - name: crm
    description: Tell the CRM about orders
    if: {contains: order}
    do: [{webhook: "WAWP/hooks/crm"}]
tests:
  - name: greets Alice
    event: {text: "hi", name: Alice}
    expect: [{reply: "Hello Alice! How can I help?"}]
"""


@pytest.fixture
def shop(tmp_path: Path, fake: FakeWawp) -> Any:
    rules = tmp_path / "rules"
    (rules / "lists").mkdir(parents=True)
    (rules / "shop.yaml").write_text(textwrap.dedent(SHOP).replace("WAWP", fake.url))
    (rules / "lists" / "vip.txt").write_text("447441429009@c.us  # Alice\n")
    with running_engine(rules, tmp_path / "data", wawp_url=fake.url, admin_token=TOKEN, retries=0) as bot:
        fake.fail("500", times=None, path="/hooks/crm")
        texts = ["hello", "when are you open?", "my order 1042", "just saying thanks", "hi again"]
        for n, text in enumerate(texts * 3):
            bot.post(
                make_event(text=text, name=["Alice", "Bob", "Chen"][n % 3], sender=f"1555000{n:04d}@c.us")
            )
        old = int((time.time() - 86400 * 370) * 1000)  # an event a year late: the gap chart's outlier
        bot.post(make_event(text="hello from the past", timestamp_ms=old))
        bot.wait_processed(16)
        bot.wait_until(lambda: len(bot.dead_letters()) >= 3, what="the CRM's dead letters")
        yield bot


def _pages(bot: RunningEngine) -> list[tuple[str, str, Callable[[Any], None] | None]]:
    """(name, path, what to do on the page before the picture)."""
    event_key = bot.call(lambda e: e.storage.scan("trace:event\x1f"))[0][0]
    [(letter, _), *_] = bot.dead_letters()

    def try_message(page: Any) -> None:
        page.fill("#message-text", "hello, are you open today?")
        page.click("#try")

    def broken_edit(page: Any) -> None:
        page.fill("#text", page.input_value("#text").replace("{reply:", "{replly:", 1))
        page.click("#check")

    def test_run(page: Any) -> None:
        page.click("#run-tests")

    def save(page: Any) -> None:
        page.fill("#text", page.input_value("#text").replace("How can I help?", "What can I do for you?"))
        page.click("#save")
        page.wait_for_selector("#notice")

    def open_version(page: Any) -> None:
        page.locator(".versions a").nth(1).click()
        page.wait_for_selector("#diff")

    return [
        ("overview", "/dashboard/", None),
        ("events", "/dashboard/events", None),
        ("event", f"/dashboard/events/{event_key}", None),
        ("rules", "/dashboard/rules", None),
        ("editor-files", "/dashboard/editor", None),
        ("editor", "/dashboard/editor/shop.yaml", test_run),
        ("editor-problem", "/dashboard/editor/shop.yaml", broken_edit),
        ("editor-saved", "/dashboard/editor/shop.yaml", save),
        ("editor-version", "/dashboard/editor/shop.yaml", open_version),
        ("dead-letters", "/dashboard/dlq", None),
        ("dead-letter", f"/dashboard/dlq/{letter}", None),
        ("playground", "/dashboard/playground", try_message),
        ("time-zone", "/dashboard/time", None),
    ]


def _fits(page: Any) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_every_page_at_desktop_and_phone_width(browser: Any, shop: RunningEngine, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    too_wide = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies(
            [{"name": "botengine_tz", "value": "Europe/London", "url": shop.url + "/dashboard/"}]
        )
        page = context.new_page()
        page.goto(shop.url + "/dashboard/login")
        page.screenshot(path=str(SHOTS / f"login-{width}.png"), full_page=True)
        page.fill("input[name=token]", TOKEN)
        page.click("#login")
        page.wait_for_url("**/dashboard/")
        for name, path, before in _pages(shop):
            answer = page.goto(shop.url + path)
            assert answer is not None and answer.ok, f"{name}: {answer and answer.status}"
            if before is not None:
                before(page)
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            if _fits(page) > 0:
                too_wide.append(f"{name} at {width}px: {_fits(page)}px too wide")
        context.close()
    with running_engine(tmp_path / "rules", tmp_path / "data2") as off:  # no login set: the home page
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.goto(off.url + "/")
        page.screenshot(path=str(SHOTS / "home-390.png"), full_page=True)
        assert "botengine is running" in page.inner_text("h1")
    assert too_wide == []
    assert len(list(SHOTS.glob("*.png"))) >= 2 * 14 + 1
