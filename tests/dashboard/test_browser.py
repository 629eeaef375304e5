"""The dashboard in a real headless Chromium: log in, find an event, replay a dead letter,
pause a rule, try the playground, see a broken rules file reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import RunningEngine
from tests.dashboard.conftest import TOKEN


def logged_in(browser: Any, bot: RunningEngine) -> Any:
    page = browser.new_page()
    page.goto(bot.url + "/dashboard/")
    assert page.url.endswith("/dashboard/login")  # sent to the login first
    page.fill("input[name=token]", TOKEN)
    page.click("#login")
    page.wait_for_url("**/dashboard/")
    return page


def test_log_in_and_find_what_happened_to_an_event(browser: Any, bot: RunningEngine, fake: FakeWawp) -> None:
    bot.post(make_event(text="hello there", name="Alice", sender="447441429009@c.us"))
    bot.post(make_event(text="just chatting", sender="15550001111@c.us"))
    fake.wait_for(1, "/v2/send/text")
    bot.wait_processed(2)
    page = logged_in(browser, bot)
    assert page.inner_text("#events-hour") == "2"
    page.click("text=Events")
    page.fill("input[name=q]", "447441429009")
    page.click("#search")
    rows = page.locator("#events tr")
    assert rows.count() == 2  # the header and Alice's event only
    rows.nth(1).locator("a").click()
    rule_rows = page.locator("#rule-trace tr")
    assert "greet" in rule_rows.nth(1).inner_text() and "matched" in rule_rows.nth(1).inner_text()
    crm = rule_rows.nth(2).inner_text()
    assert "did not match" in crm and "text does not contain 'order'" in crm  # not "failed"
    action = page.inner_text("#action-trace")
    assert "reply" in action and "done" in action and "Hello Alice!" in action


def test_replay_a_dead_letter(browser: Any, bot: RunningEngine, fake: FakeWawp) -> None:
    fake.fail("400", times=1, path="/hooks/crm")
    bot.post(make_event(text="my order", sender="15550001111@c.us"))
    bot.wait_until(bot.dead_letters, what="a dead letter")
    page = logged_in(browser, bot)
    assert page.inner_text("#dead-letters") != "0"
    page.click("text=Dead letters")
    entry = page.locator("#dead-letters tr.entry")
    assert entry.count() == 1 and "crm" in entry.inner_text() and "400" in entry.inner_text()
    entry.locator("button.replay").click()
    page.wait_for_selector("#no-dead-letters")
    calls = fake.wait_for(2, "/hooks/crm")
    assert [c.status for c in calls] == [400, 200]


def test_pause_and_resume_a_rule(browser: Any, bot: RunningEngine, fake: FakeWawp) -> None:
    page = logged_in(browser, bot)
    page.click("text=Rules")
    page.click("#rule-greet button.toggle")
    assert page.inner_text("#rule-greet .state") == "paused"
    bot.post(make_event(text="hello?", sender="15550001111@c.us"))
    bot.wait_processed(1)
    page.click("#rule-greet button.toggle")
    assert page.inner_text("#rule-greet .state") == "active"
    bot.post(make_event(text="hello again", sender="15550001111@c.us"))
    [reply] = fake.wait_for(1, "/v2/send/text")
    assert reply.json["message"] == "Hello there!"
    bot.wait_processed(2)  # the reply goes out before the event's statistics are written
    page.reload()
    assert page.inner_text("#rule-greet .hits") == "1"  # the paused event did not count


def test_the_playground_tries_a_typed_message(browser: Any, bot: RunningEngine, fake: FakeWawp) -> None:
    page = logged_in(browser, bot)
    page.click("text=Playground")
    page.fill("#message-text", "hello from the playground")
    page.fill("input[name=name]", "Bob")
    page.click("#try")
    assert "1 rule would answer" in page.inner_text("#trial-summary")
    assert "Hello Bob!" in page.inner_text("#verdict-greet")
    assert "text does not contain 'order'" in page.inner_text("#verdict-crm")
    page.select_option("#message-chat", "group")
    page.fill("#message-text", "an order, please")
    page.click("#try")
    assert "WAWP" not in page.inner_text("#verdict-crm") and "webhook" in page.inner_text("#verdict-crm")
    assert fake.calls == []  # a playground sends nothing


def test_the_playground_tries_an_event_as_json(browser: Any, bot: RunningEngine, fake: FakeWawp) -> None:
    page = logged_in(browser, bot)
    page.click("text=Playground")
    page.check("#mode-event")
    page.click("text=a private message")
    assert page.is_checked("#mode-event")  # a sample opens the JSON form
    text = page.input_value("#event-json")
    page.fill("#event-json", text.replace("Hi! Is the shop open today?", "hello from the playground"))
    page.click("#try")
    assert "Hello Alice!" in page.inner_text("#verdict-greet")
    page.fill("#event-json", "{not json")
    page.click("#try")
    assert "not a valid event" in page.inner_text("#trial-error")
    assert fake.calls == []


def test_a_broken_rules_file_is_shown_with_its_line(browser: Any, bot: RunningEngine, tmp_path: Path) -> None:
    rules = tmp_path / "rules" / "rules.yaml"
    rules.write_text(rules.read_text().replace("- name: crm", "- nme: crm"))
    bot.wait_until(lambda: not bot.engine.rules.state.success, what="the failed reload")
    page = logged_in(browser, bot)
    errors = page.inner_text("#reload-errors")
    assert "rules.yaml:" in errors and "nme" in errors
    assert "still running" in page.inner_text("#rules-state")
