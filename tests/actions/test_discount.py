"""Discount codes: one per person per campaign, even under concurrent events; pools, caps, export."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest

from botengine.actions.discount import ALPHABET, issued_codes
from botengine.cli import main
from botengine.rules.loader import load
from botengine.testing import FakeWawp, make_event
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import write_rules

CAMPAIGN = """
rules:
  - name: love
    on: message.reaction
    if: {emoji: ["❤", "🔥"]}
    do:
      - discount: {campaign: spring, prefix: "SPRING-", expires: 7d}
      - reply: "Thanks! Your code: {{ discount.code }}"
"""


def reaction(sender: str, emoji: str = "❤️") -> dict:  # type: ignore[type-arg]
    return make_event("message.reaction", sender=sender, emoji=emoji)


def test_a_code_per_person_and_the_same_code_when_they_react_again(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(CAMPAIGN) as bot:
        bot.post(reaction("15550001111@c.us"))
        bot.post(reaction("15550002222@c.us", "🔥"))
        bot.post(reaction("15550001111@c.us", "🔥"))
        calls = fake.wait_for(3, "/v2/send/text")
        records = bot.call(lambda e: issued_codes(e.storage, "spring"))
    codes = {c.json["chatId"]: [] for c in calls}  # type: ignore[var-annotated]
    for call in calls:
        codes[call.json["chatId"]].append(call.json["message"].rsplit(" ", 1)[1])
    alice, bob = codes["15550001111@c.us"], codes["15550002222@c.us"]
    assert alice[0] == alice[1] != bob[0]
    assert re.fullmatch(f"SPRING-[{ALPHABET}]{{8}}", alice[0])
    assert len(records) == 2
    assert {r["recipient"] for r in records} == {"15550001111@c.us", "15550002222@c.us"}
    assert all(r["expires_at"] for r in records)


async def test_concurrent_events_for_one_person_get_one_code(tmp_path: Path, storage_factory) -> None:  # type: ignore[no-untyped-def]
    """Two workers (or a replay) racing on one person: the add-if-absent decides, never two codes."""
    from botengine.actions import Services
    from botengine.actions.executor import Executor
    from botengine.rules import RuleSet
    from tests.rules_helpers import view

    write_rules(tmp_path / "rules", CAMPAIGN)
    rules = RuleSet.load([tmp_path / "rules"])
    storage = storage_factory()
    executor = Executor(Services(storage=storage))
    events = [reaction("15550001111@c.us") for _ in range(20)]

    async def issue(event: dict) -> str:  # type: ignore[type-arg]
        v = view(event)
        run = (await rules.evaluate(v, storage)).matches[0]
        plan_actions = run.actions[:1]  # the discount alone: no Wawp here
        outcomes = await executor.run_rule(v, type(run)(run.rule, plan_actions, run.variables), b"{}")
        return str(outcomes[0].result["code"])

    codes = await asyncio.gather(*(issue(e) for e in events))
    assert len(set(codes)) == 1
    assert len(await issued_codes(storage, "spring")) == 1


def test_pool_codes_in_order_and_a_used_up_pool_is_dead_lettered(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path
) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "codes.txt").write_text("# pre-made by the shop\nAAA-111\nBBB-222\n")
    rules = CAMPAIGN.replace('prefix: "SPRING-", expires: 7d', "pool: codes.txt")
    with engine(rules) as bot:
        for n in range(3):
            bot.post(reaction(f"1555000000{n}@c.us"))
            if n < 2:
                fake.wait_for(n + 1, "/v2/send/text")
        [(_, letter)] = bot.wait_until(bot.dead_letters, what="a dead letter")
    messages = [c.json["message"] for c in fake.calls_to("/v2/send/text")]
    assert messages == ["Thanks! Your code: AAA-111", "Thanks! Your code: BBB-222"]
    assert "the pool codes.txt is used up (2 codes issued)" in letter["errors"][0]["error"]


def test_a_campaign_cap_ends_the_rule_quietly(engine: EngineFactory, fake: FakeWawp) -> None:
    rules = CAMPAIGN.replace("expires: 7d", "expires: 7d, cap: 2")
    with engine(rules) as bot:
        for n in range(4):
            bot.post(reaction(f"1555000000{n}@c.us"))
        bot.wait_processed(4)
        assert bot.dead_letters() == []
    assert len(fake.calls_to("/v2/send/text")) == 2


def test_check_finds_a_missing_pool_file(tmp_path: Path) -> None:
    write_rules(tmp_path, CAMPAIGN.replace('prefix: "SPRING-", expires: 7d', "pool: nope.txt"))
    [problem] = load([tmp_path]).errors
    assert "discount: pool: no file 'nope.txt' in the rules folder" in str(problem)
    assert ":7:" in str(problem)


def test_codes_are_listed_and_exported(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with engine(CAMPAIGN) as bot:
        bot.post(reaction("15550001111@c.us"))
        fake.wait_for(1, "/v2/send/text")
        data_dir = str(tmp_path / "data")
        capsys.readouterr()
        assert main(["codes", "--data-dir", data_dir]) == 0
        assert capsys.readouterr().out.split() == ["spring"]
        assert main(["codes", "spring", "--csv", "--data-dir", data_dir]) == 0
        rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["recipient"] == "15550001111@c.us"
    assert rows[0]["code"].startswith("SPRING-")


def test_a_capped_rule_stays_stopped_when_its_event_is_replayed(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    rules = CAMPAIGN.replace("expires: 7d", "expires: 7d, cap: 1")
    with engine(rules) as bot:
        bot.post(reaction("15550001111@c.us"))
        late = reaction("15550002222@c.us")
        bot.post(late)
        bot.wait_processed(2)
        bot.replay(late)
        bot.wait_processed(3)
        assert bot.dead_letters() == []  # the reply after the cap is not attempted without a code
    assert len(fake.calls_to("/v2/send/text")) == 1


def test_codes_added_to_a_used_up_pool_are_handed_out_on_replay(
    engine: EngineFactory, fake: FakeWawp, tmp_path: Path
) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    pool = rules_dir / "codes.txt"
    pool.write_text("AAA-111\n")
    rules = CAMPAIGN.replace('prefix: "SPRING-", expires: 7d', "pool: codes.txt, cap: 5")
    with engine(rules) as bot:
        for n in range(3):
            bot.post(reaction(f"1555000000{n}@c.us"))
        bot.wait_until(lambda: len(bot.dead_letters()) == 2, what="two dead letters")
        pool.write_text("AAA-111\nBBB-222\nCCC-333\n")
        assert main(["dlq", "--data-dir", str(tmp_path / "data"), "replay", "--all"]) == 0
        fake.wait_for(3, "/v2/send/text")
        records = bot.call(lambda e: issued_codes(e.storage, "spring"))
    assert sorted(r["code"] for r in records) == ["AAA-111", "BBB-222", "CCC-333"]


def test_check_refuses_pool_files_outside_the_rules_or_from_templates(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("root:x:0:0\n")
    write_rules(tmp_path / "rules", CAMPAIGN.replace('prefix: "SPRING-", expires: 7d', "pool: ../secret.txt"))
    [outside] = load([tmp_path / "rules"]).errors
    assert "discount: pool: '../secret.txt' leads outside the rules folder" in str(outside)
    assert "root:x" not in str(outside)
    write_rules(tmp_path / "rules", CAMPAIGN.replace('prefix: "SPRING-", expires: 7d', 'pool: "{{ text }}"'))
    [templated] = load([tmp_path / "rules"]).errors
    assert "cannot be a template" in str(templated)
