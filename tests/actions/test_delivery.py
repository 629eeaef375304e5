"""Delivery: retries by policy, the dead-letter queue, replay, exactly-once effects, pacing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from botengine.cli import main
from botengine.testing import FakeWawp, make_event
from botengine.testing.server import free_port
from tests.actions.conftest import EngineFactory

REPLY_HI = """
rules:
  - name: greet
    if: {contains: hi}
    do: [{reply: "Hello!"}]
"""


@pytest.mark.parametrize("mode", ["500", "429", "upstream"])
def test_retryable_failures_are_retried_until_delivered_once(
    engine: EngineFactory, fake: FakeWawp, mode: str
) -> None:
    fake.fail(mode, times=2, retry_after=0.1)
    with engine(REPLY_HI) as bot:
        bot.post(make_event(text="hi"))
        calls = fake.wait_for(3, "/v2/send/text")
        time.sleep(0.3)  # room for a wrong extra attempt to show up
        assert [c.status for c in fake.calls_to("/v2/send/text")] == [
            calls[0].status,
            calls[1].status,
            200,
        ]
        assert calls[0].status != 200
        assert bot.dead_letters() == []


def test_a_4xx_is_not_retried_and_goes_to_the_dead_letter_queue(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    fake.fail("400", times=1)
    with engine(REPLY_HI) as bot:
        bot.post(make_event(text="hi", sender="15550001111@c.us"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
        time.sleep(0.3)
        assert len(fake.calls_to("/v2/send/text")) == 1
    assert letter["kind"] == "action"
    assert letter["rule"] == "greet" and letter["action"] == "reply" and letter["index"] == "0"
    assert letter["params"] == {"text": "Hello!", "quote": False}
    assert "refused" in letter["errors"][0]["error"] and "400" in letter["errors"][0]["error"]
    assert letter["chat"] == "15550001111@c.us"


def test_retries_run_out_into_the_dead_letter_queue_with_every_error(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    fake.fail("500", times=None)
    with engine(REPLY_HI, retries=3) as bot:
        bot.post(make_event(text="hi"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert len(fake.calls_to("/v2/send/text")) == 4  # the first attempt and 3 retries
    assert [e["attempt"] for e in letter["errors"]] == [1, 2, 3, 4]
    assert all("500" in e["error"] for e in letter["errors"])


def test_retry_after_is_honoured(engine: EngineFactory, fake: FakeWawp) -> None:
    fake.fail("429", times=1, retry_after=1)
    with engine(REPLY_HI) as bot:
        bot.post(make_event(text="hi"))
        first, second = fake.wait_for(2, "/v2/send/text")
    assert second.at - first.at >= 0.95  # the policy alone would have waited ~0.05 s


def test_a_timeout_counts_as_a_retryable_failure(engine: EngineFactory, fake: FakeWawp) -> None:
    fake.fail("timeout", times=1, delay=5)
    rules = """
    rules:
      - name: greet
        if: {contains: hi}
        do: [{reply: "Hello!", timeout: 300ms}]
    """
    with engine(rules) as bot:
        bot.post(make_event(text="hi"))
        calls = fake.wait_for(2, "/v2/send/text")
        assert bot.dead_letters() == []
    assert len(calls) == 2


def test_per_action_retry_policy_wins(engine: EngineFactory, fake: FakeWawp) -> None:
    fake.fail("500", times=None)
    rules = """
    rules:
      - name: greet
        retry: {retries: 4, delay: 10ms}
        do: [{reply: "Hello!", retry: {retries: 1, delay: 10ms, policy: constant}}]
    """
    with engine(rules) as bot:
        bot.post(make_event(text="hi"))
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    assert len(letter["errors"]) == 2


def test_replay_after_an_outage_delivers_every_action_once(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = """
    rules:
      - name: order
        if: {contains: order}
        do:
          - reply: "Thanks, we got your order"
          - webhook: {url: "WAWP/hooks/crm", json: {text: "{{ text }}"}}
          - reply: "Ticket {{ webhook.json.n }} opened"
    """.replace("WAWP", fake.url)
    fake.fail("500", times=None, path="/hooks/crm")
    with engine(rules, retries=1) as bot:
        for i in range(3):
            bot.post(make_event(text=f"order {i}", sender=f"1555000000{i}@c.us"))
        bot.wait_until(lambda: len(bot.dead_letters()) == 3, what="3 dead letters")
        assert len(fake.calls_to("/v2/send/text")) == 3  # the first reply of each went out
        fake.clear_failures()
        data_dir = str(tmp_path / "data")
        assert main(["dlq", "--data-dir", data_dir, "replay", "--all"]) == 0
        assert "3 worked" in capsys.readouterr().err  # it waited for the engine to run them
        texts = fake.wait_for(6, "/v2/send/text")
        time.sleep(0.5)
        assert bot.dead_letters() == []
    crm = [c for c in fake.calls_to("/hooks/crm") if c.status == 200]
    assert sorted(c.json["text"] for c in crm) == ["order 0", "order 1", "order 2"]
    messages = [c.json["message"] for c in fake.calls_to("/v2/send/text")]
    assert len(messages) == 6 == len(texts)
    assert messages.count("Thanks, we got your order") == 3  # not repeated by the replay
    assert sorted(m for m in messages if m.startswith("Ticket")) == [
        "Ticket 1 opened",
        "Ticket 2 opened",
        "Ticket 3 opened",
    ]


def test_replaying_a_whole_event_repeats_nothing_done(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: greet
        cooldown: 1h
        do: [{reply: "Hello!"}, {webhook: "WAWP/hooks/analytics"}]
    """.replace("WAWP", fake.url)
    with engine(rules) as bot:
        event = make_event(text="hi")
        bot.post(event)
        fake.wait_for(1, "/hooks/analytics")
        bot.replay(event)
        bot.wait_processed(2)
        assert bot.post(event).json() == {"status": "duplicate"}
        time.sleep(0.3)
    assert len(fake.calls_to("/v2/send/text")) == 1
    assert len(fake.calls_to("/hooks/analytics")) == 1


def test_connection_refused_then_recovery_by_replay(tmp_path: Path) -> None:
    from botengine.testing.engine import running_engine

    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "r.yaml").write_text(REPLY_HI)
    port = free_port()  # nothing listens here yet
    with running_engine(rules_dir, tmp_path / "data", wawp_url=f"http://127.0.0.1:{port}", retries=2) as bot:
        bot.post(make_event(text="hi"))
        [(entry_id, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
        assert len(letter["errors"]) == 3
        assert "cannot reach Wawp" in letter["errors"][0]["error"]
        wawp = FakeWawp()
        with wawp.serve(port=port):
            assert main(["dlq", "--data-dir", str(tmp_path / "data"), "replay", entry_id]) == 0
            [call] = wawp.wait_for(1, "/v2/send/text")
    assert call.json["message"] == "Hello!"


def test_a_retrying_chat_holds_back_no_other_chat(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = """
    rules:
      - name: crm
        if: {contains: order}
        do: [{webhook: "WAWP/hooks/down"}]
      - name: greet
        if: {contains: hi}
        do: [{reply: "Hello!"}]
    """.replace("WAWP", fake.url)
    fake.fail("timeout", times=None, path="/hooks/down", delay=5)
    with engine(rules, retry_delay=1.0, concurrency=2) as bot:
        for i in range(4):  # more stuck chats than the worker has runners
            bot.post(make_event(text="order", sender=f"1555000100{i}@c.us"))
        for i in range(10):
            bot.post(make_event(text="hi", sender=f"1555000200{i}@c.us"))
        replies = fake.wait_for(10, "/v2/send/text", timeout=8)
        fake.clear_failures()
    assert len({c.json["chatId"] for c in replies}) == 10
