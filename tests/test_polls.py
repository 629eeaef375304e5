"""Polls as conversations: the bot asks with a poll, and a vote is matched by its question (which
the vote does not carry: the bot remembers it) and the option chosen."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botengine.dry_run import dry_run_event
from botengine.rules import RuleSet
from botengine.rules.loader import load
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine

ALICE = "447441429009@c.us"
RULES = """
rules:
  - name: ask
    if: {equals: branch}
    do: [{poll: {question: "Which branch?", options: [North, South, Online]}}]
  - name: north
    on: poll.vote
    if: {poll: {question: "which  BRANCH?", option: north}}
    do: [{reply: "North it is: 12 High Street."}]
  - name: elsewhere
    on: poll.vote
    if: {poll: {question: "Which branch?", option: [South, Online]}}
    do: [{reply: "We will call you."}]
"""


def vote(poll_id: str, *chosen: str, voter: str = ALICE) -> dict[str, Any]:
    """A WAHA poll.vote: the poll by id only, the options chosen by name."""
    payload = {
        "vote": {
            "id": f"false_{voter}_V{len(chosen)}",
            "from": voter,
            "to": "201001234567@c.us",
            "fromMe": False,
            "selectedOptions": list(chosen),
        },
        "poll": {"id": poll_id, "from": "201001234567@c.us", "to": voter, "fromMe": True},
    }
    event = make_event("poll.vote", sender=voter, session="shop")
    event["payload"] = payload
    return event


@pytest.fixture
def fake() -> Iterator[FakeWawp]:
    wawp = FakeWawp()
    with wawp.serve():
        yield wawp


def test_a_vote_is_answered_by_the_rule_for_its_question_and_option(tmp_path: Path, fake: FakeWawp) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    with running_engine(tmp_path / "rules", tmp_path / "data", wawp_url=fake.url) as bot:
        bot.post(make_event(text="branch", sender=ALICE, session="shop"))
        [asked] = fake.wait_for(1, "/v2/send/poll")
        [(stored, _)] = bot.wait_until(lambda: bot.call(lambda e: e.storage.scan("poll:")), what="recorded")
        poll_id = f"true_{ALICE}_{stored.rsplit(chr(0x1F), 1)[-1]}"
        bot.post(vote(poll_id, "North"))
        [north] = fake.wait_for(1, "/v2/send/text")
        bot.post(vote(poll_id, "Online"))
        replies = fake.wait_for(2, "/v2/send/text")
        bot.post(vote(f"true_{ALICE}_NOTOURS", "North"))  # a poll this bot did not send
        bot.post(vote(poll_id))  # the vote taken back
        bot.wait_processed(5)
    assert asked.json["poll"]["name"] == "Which branch?"
    assert north.json == {"chatId": ALICE, "message": "North it is: 12 High Street."}
    assert [c.json["message"] for c in replies] == ["North it is: 12 High Street.", "We will call you."]
    assert len(fake.calls_to("/v2/send/text")) == 2


def test_the_trace_says_why_a_vote_did_not_match(tmp_path: Path, fake: FakeWawp) -> None:
    (tmp_path / "r.yaml").write_text(RULES)
    rules = RuleSet.load([tmp_path])
    processed = asyncio.run(dry_run_event(rules, json.dumps(vote(f"true_{ALICE}_X", "South")).encode()))
    reasons = {t.rule: t.reason for t in processed.evaluation.trace}
    assert reasons["north"] == "chosen South, rule wants 'north'"
    assert (
        reasons["elsewhere"]
        == "the poll's question is unknown (a poll this bot did not send, or older than 90 days)"
    )


def test_check_refuses_an_empty_question(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - name: p\n    on: poll.vote\n    if: {poll: {question: ' '}}\n    do: [{log: x}]\n"
    )
    [problem] = load([tmp_path]).errors
    assert "poll: an empty question" in str(problem)
