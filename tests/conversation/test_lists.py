"""Lists kept in the store (`add_to`, `remove_from`), end to end: the real engine over loopback
HTTP, the fake Wawp, disk and Redis stores."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from pathlib import Path

import pytest

from botengine.app import build_app
from botengine.cli import main
from botengine.errors import StorageError
from botengine.sample_events import DEFAULT_SENDER
from botengine.storage.disk import DiskStorage
from botengine.store_lists import StoreLists, member_key
from botengine.testing import FakeWawp, make_event, serve_in_thread
from botengine.testing.engine import TEST_ENV, RunningEngine, running_engine, settings_for_tests
from botengine.types import JSON
from tests.actions.conftest import EngineFactory
from tests.conftest import REDIS_URL, drop_namespace, require_redis
from tests.rules_helpers import write_rules

CLUB = """
rules:
  - name: join
    if: {equals: join}
    do:
      - add_to: {list: vip, note: "asked to join"}
      - reply: "You are on the VIP list."
  - name: join-for-a-second
    if: {equals: trial}
    do:
      - add_to: {list: vip, expires: 1s}
  - name: leave
    if: {equals: leave}
    do:
      - remove_from: vip
      - reply: "You left the VIP list."
  - name: vip-hello
    if: {equals: hello, sender: {in: vip}}
    do: [{reply: "Hello VIP"}]
  - name: hello
    if: {equals: hello, sender: {not_in: vip}}
    do: [{reply: "Hello"}]
  - name: status
    if: {equals: status}
    do: [{reply: "{% if lists.vip %}You are a VIP{% else %}You are not a VIP{% endif %}"}]
"""


def said(fake: FakeWawp) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text")]


def say(bot: RunningEngine, fake: FakeWawp, text: str, sender: str = DEFAULT_SENDER) -> None:
    """Post one message and wait until it was processed."""
    before = len(fake.calls_to("/v2/send/text"))
    bot.post(make_event(text=text, sender=sender))
    if text == "trial":  # no reply: wait for the member's record instead
        bot.wait_until(lambda: bot.get(member_key("default", "vip", sender)), what="the trial member")
        return
    fake.wait_for(before + 1, "/v2/send/text")


def test_a_rule_adds_the_sender_and_a_later_event_from_them_matches(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(CLUB) as bot:
        for text in ["hello", "status", "join", "hello", "status", "leave", "hello"]:
            say(bot, fake, text)
        say(bot, fake, "hello", sender="15550009999@c.us")  # someone else: not on the list
        assert bot.get(member_key("default", "vip", DEFAULT_SENDER)) is None
    assert said(fake) == [
        "Hello",
        "You are not a VIP",
        "You are on the VIP list.",
        "Hello VIP",
        "You are a VIP",
        "You left the VIP list.",
        "Hello",
        "Hello",
    ]


def test_a_member_with_an_expiry_is_off_the_list_after_it(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(CLUB) as bot:
        say(bot, fake, "trial")
        say(bot, fake, "hello")  # within the second, or just after: either is right, so not asserted
        bot.wait_until(
            lambda: bot.get(member_key("default", "vip", DEFAULT_SENDER)) is None, what="the expiry"
        )
        say(bot, fake, "hello")
    assert said(fake)[-1] == "Hello"


def test_the_list_survives_a_restart(tmp_path: Path, fake: FakeWawp, engine: EngineFactory) -> None:
    with engine(CLUB) as bot:
        say(bot, fake, "join")
    with engine(CLUB) as bot:
        say(bot, fake, "hello")
        [member] = bot.call(lambda e: StoreLists(e.storage).members())
    assert said(fake) == ["You are on the VIP list.", "Hello VIP"]
    assert (member.list, member.jid, member.by) == ("vip", DEFAULT_SENDER, "rule join")
    assert member.note == "asked to join"
    assert member.until is None


def test_lists_are_per_session(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(CLUB) as bot:
        say(bot, fake, "join")
        bot.post(make_event(text="hello", session="other-shop"))
        fake.wait_for(2, "/v2/send/text")
    assert said(fake) == ["You are on the VIP list.", "Hello"]


@pytest.mark.redis
def test_the_redis_store_keeps_lists_too(tmp_path: Path, fake: FakeWawp) -> None:
    require_redis()
    namespace = f"botengine-test-{secrets.token_hex(6)}"
    folder = tmp_path / "rules"
    write_rules(folder, CLUB)
    redis = {"redis_url": REDIS_URL, "redis_namespace": namespace}
    try:
        with running_engine(folder, tmp_path / "data1", wawp_url=fake.url, **redis) as bot:
            say(bot, fake, "join")
        # another engine on the same Redis (a restart, or a second worker) sees the member
        with running_engine(folder, tmp_path / "data2", wawp_url=fake.url, **redis) as bot:
            say(bot, fake, "hello")
            say(bot, fake, "leave")
            say(bot, fake, "hello")
    finally:
        asyncio.run(drop_namespace(namespace))
    assert said(fake) == ["You are on the VIP list.", "Hello VIP", "You left the VIP list.", "Hello"]


WHO = """
rules:
  - name: staff-adds
    if: {text: '^vip (?P<number>\\+?[0-9 ]+)$'}
    do:
      - add_to: {list: vip, who: "{{ number }}"}
      - reply: "added {{ number }}"
  - name: staff-adds-anything
    if: {text: '^add (?P<who>.*)$'}
    do:
      - add_to: {list: vip, who: "{{ who }}"}
      - reply: "added"
  - name: vip-hello
    if: {equals: hello, sender: {in: vip}}
    do: [{reply: "Hello VIP"}]
"""


def test_who_may_be_a_templated_number(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(WHO) as bot:
        say(bot, fake, "vip +1 555 000 7777")
        say(bot, fake, "hello", sender="15550007777@c.us")
    assert said(fake) == ["added +1 555 000 7777", "Hello VIP"]


@pytest.mark.parametrize(
    "who",
    [
        "../../etc/passwd",
        "447700900123@c.us\x1fvip",
        "a b@c.us",
        "447700900123@evil.example",
        "x" * 300 + "@c.us",
        "{{ 7*7 }}",
    ],
)
def test_a_hostile_who_is_a_dead_letter_saying_why(engine: EngineFactory, fake: FakeWawp, who: str) -> None:
    with engine(WHO) as bot:
        bot.post(make_event(text=f"add {who}"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
        assert bot.call(lambda e: StoreLists(e.storage).members()) == []
    error = letter["errors"][-1]["error"]
    assert "is not a phone number or a WhatsApp JID" in error or "who: String should have at most" in error
    assert said(fake) == []


# -- dry runs ---------------------------------------------------------------------------------


def test_serve_dry_run_says_who_would_be_added_and_adds_no_one(
    engine: EngineFactory, fake: FakeWawp, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="botengine.actions"), engine(CLUB, dry_run=True) as bot:
        bot.post(make_event(text="join"))
        bot.wait_processed(1)
        assert bot.call(lambda e: StoreLists(e.storage).members()) == []
    assert fake.calls == []
    [added] = [r for r in caplog.records if r.getMessage().endswith("would add_to")]
    assert added.fields["action"]["would"] == (  # type: ignore[attr-defined]
        f"put {DEFAULT_SENDER} on the list 'vip' (session default)"
    )


def test_the_dry_run_command_prints_the_list_and_the_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rules(tmp_path / "rules", WHO)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(make_event(text="vip 447700900123")))
    assert main(["dry-run", "--rules", str(tmp_path / "rules"), "--json", str(event)]) == 0
    planned = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert planned[0]["action"] == "add_to"
    assert planned[0]["preview"]["would"] == "put 447700900123@c.us on the list 'vip' (session default)"


# -- the store failing ------------------------------------------------------------------------


class FlakyListStore(DiskStorage):
    """A disk store whose writes to lists fail the first `failures` times, as a store does while
    it restarts (the error the backends raise: StorageError)."""

    def __init__(self, data_dir: Path, failures: int) -> None:
        super().__init__(data_dir)
        self.failures = failures

    async def put(self, key: str, value: JSON, ttl: float | None = None) -> None:
        if key.startswith("list:") and self.failures > 0:
            self.failures -= 1
            raise StorageError("the store is restarting")
        await super().put(key, value, ttl)


def test_a_store_failing_during_add_to_is_retried(tmp_path: Path, fake: FakeWawp) -> None:
    folder = tmp_path / "rules"
    write_rules(folder, CLUB)
    store = FlakyListStore(tmp_path / "data", failures=2)
    settings = settings_for_tests(folder, tmp_path / "data", wawp_url=fake.url)
    app = build_app(settings, storage=store, env=TEST_ENV)
    with serve_in_thread(app) as url:
        bot = RunningEngine(url, app, settings)
        say(bot, fake, "join")  # the reply comes after add_to, which succeeded on its third try
        say(bot, fake, "hello")
        assert bot.dead_letters() == []
    assert store.failures == 0
    assert said(fake) == ["You are on the VIP list.", "Hello VIP"]


def test_a_store_that_keeps_failing_ends_in_a_dead_letter(tmp_path: Path, fake: FakeWawp) -> None:
    folder = tmp_path / "rules"
    write_rules(folder, CLUB)
    store = FlakyListStore(tmp_path / "data", failures=1000)
    settings = settings_for_tests(folder, tmp_path / "data", wawp_url=fake.url, retries=1)
    app = build_app(settings, storage=store, env=TEST_ENV)
    with serve_in_thread(app) as url:
        bot = RunningEngine(url, app, settings)
        bot.post(make_event(text="join"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert "the store failed: the store is restarting" in letter["errors"][-1]["error"]
    assert said(fake) == []  # the reply waits for the add: it never claims what did not happen


BRANCHES = """
rules:
  - name: club
    if: {equals: club}
    do:
      - if: {sender: {in: vip}}
        then:
          - reply: "You are already in the club."
        else:
          - add_to: vip
          - reply: "Welcome to the club!"
"""


def test_a_branch_reads_the_list_and_another_adds_to_it(engine: EngineFactory, fake: FakeWawp) -> None:
    with engine(BRANCHES) as bot:
        say(bot, fake, "club")
        say(bot, fake, "club")
        assert bot.dead_letters() == []
    assert said(fake) == ["Welcome to the club!", "You are already in the club."]
