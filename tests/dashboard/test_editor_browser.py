"""The rules editor in a real headless Chromium, the way a shop owner would use it: create a rule,
see a mistake flagged at its line as it is typed, fix it, run its test, save, see the engine
answer with it, change it, roll back and see the old answer; an edit on disk meanwhile is caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine
from tests.dashboard.conftest import TOKEN

PRICES = """rules:
  - name: prices
    if:
      contains: [price, cost]
    do:
      - {verb}: "Hi {{{{ sender.name or 'there' }}}}! {answer}"

tests:
  - name: answers a price question
    event: {{text: "What does it cost?", name: Alice}}
    expect:
      - reply: "Hi Alice! {answer}"
"""


def prices(answer: str, verb: str = "reply") -> str:
    return PRICES.format(answer=answer, verb=verb)


def logged_in(browser: Any, bot: RunningEngine) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(bot.url + "/dashboard/login")
    page.fill("input[name=token]", TOKEN)
    page.click("#login")
    page.wait_for_url("**/dashboard/")
    return page


def ask_price(bot: RunningEngine, fake: FakeWawp, count: int) -> str:
    """Send a price question as a customer would and return the bot's answer."""
    bot.post(make_event(text="what is the price?", name="Bob", sender=f"1555010{count:04d}@c.us"))
    return str(fake.wait_for(count, "/v2/send/text")[-1].json["message"])


def wait_loaded(bot: RunningEngine, text: str) -> None:
    """Until the engine runs a rule whose reply says `text` (the watcher reloads after a save)."""

    def running() -> bool:
        rule = bot.engine.rules.current.rule("prices")
        return rule is not None and text in str(rule.actions[0].params)

    bot.wait_until(running, what=f"the rule answering {text!r} to be live")


def test_change_a_reply_test_it_and_undo_it_without_leaving_the_browser(
    browser: Any, bot: RunningEngine, fake: FakeWawp, tmp_path: Path
) -> None:
    page = logged_in(browser, bot)
    page.click("nav >> text=Editor")
    page.fill("#new-name", "prices")
    page.click("#create")
    page.wait_for_url("**/dashboard/editor/prices.yaml")

    # a mistake, flagged at its line while typing (no button pressed)
    page.fill("#text", prices("Our prices are online.", verb="replly"))
    page.wait_for_selector("#gutter #line-6.error")
    assert "unknown action 'replly'" in page.inner_text("#problems")
    assert "line 6" in page.inner_text("#problems")
    page.fill("#text", prices("Our prices are online."))
    page.wait_for_selector("#check-status.ok")  # was .bad: the check ran again on the fixed text
    assert page.inner_text("#check-status") == "no problems found"
    assert page.locator("#gutter .error").count() == 0

    page.click("#run-tests")
    assert page.inner_text("#test-summary") == "1 passed, 0 failed"
    page.click("#save")
    page.wait_for_selector("#notice")
    wait_loaded(bot, "Our prices are online.")
    assert ask_price(bot, fake, 1) == "Hi Bob! Our prices are online."

    # a second version, tried on a typed message before saving
    page.fill("#text", prices("Everything is half price today!"))
    page.fill("#message-text", "is there a price list?")
    page.click("#try")
    assert "Everything is half price today!" in page.inner_text("#verdict-prices")
    page.click("#save")
    page.wait_for_selector("#notice")
    wait_loaded(bot, "half price")
    assert ask_price(bot, fake, 2) == "Hi Bob! Everything is half price today!"
    bot.wait_processed(2)
    page.goto(bot.url + "/dashboard/events?q=15550100002")
    page.locator("#events tr.event a").first.click()
    assert "Everything is half price today!" in page.inner_text("#action-trace")  # the new answer, seen

    # undo: the version before, one click
    page.goto(bot.url + "/dashboard/editor/prices.yaml")
    versions = page.locator(".versions a")
    assert [versions.nth(i).inner_text() for i in range(versions.count())] == ["saved", "saved", "created"]
    versions.nth(1).click()
    assert "+      - reply: \"Hi {{ sender.name or 'there' }}! Our prices are online.\"" in page.inner_text(
        "#diff"
    )
    page.click("#rollback")
    page.wait_for_selector("#notice")
    wait_loaded(bot, "Our prices are online.")
    assert ask_price(bot, fake, 3) == "Hi Bob! Our prices are online."
    assert "rolled back to the version of" in page.locator(".versions a").first.inner_text()
    assert (tmp_path / "rules" / "prices.yaml").read_text() == prices("Our prices are online.")


def test_a_file_changed_on_disk_since_it_was_opened_is_not_overwritten(
    browser: Any, bot: RunningEngine, tmp_path: Path
) -> None:
    rules = tmp_path / "rules" / "rules.yaml"
    page = logged_in(browser, bot)
    page.goto(bot.url + "/dashboard/editor/rules.yaml")
    rules.write_text(rules.read_text().replace("Say hello", "Say hello (changed on the server)"))
    page.fill("#text", page.input_value("#text").replace("Say hello", "Say hello (changed in the browser)"))
    page.click("#save")
    conflict = page.inner_text("#conflict")
    assert "changed on disk since you opened it" in conflict and "Nothing was saved" in conflict
    assert "(changed on the server)" in conflict  # what the file holds now, to compare
    assert "(changed in the browser)" in page.input_value("#text")  # the typing is not lost
    assert "(changed on the server)" in rules.read_text()


def test_a_save_with_a_mistake_asks_first(browser: Any, bot: RunningEngine, tmp_path: Path) -> None:
    rules = tmp_path / "rules" / "rules.yaml"
    before = rules.read_text()
    page = logged_in(browser, bot)
    page.goto(bot.url + "/dashboard/editor/rules.yaml")
    page.fill("#text", before.replace("reply:", "replly:"))
    page.click("#save")
    assert "the engine would keep running its previous rules" in page.inner_text("#confirm")
    assert rules.read_text() == before
    page.click("#save-anyway")
    page.wait_for_selector("#notice")
    assert "replly" in rules.read_text()
    bot.wait_until(lambda: not bot.engine.rules.state.success, what="the failed reload")
    assert bot.engine.rules.current.rule("greet") is not None  # the previous rules still run
