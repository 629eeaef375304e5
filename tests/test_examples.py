"""The rule packs in examples/: each checks clean, passes its inline tests, and works end to end."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest

from botengine.actions.discount import issued_codes
from botengine.handover import handover_key
from botengine.inline_tests import run_tests
from botengine.rules import RuleSet
from botengine.rules.loader import load
from botengine.storage.memory import MemoryStorage
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine
from tests.conftest import REPO
from tests.rules_helpers import view

PACKS = sorted(p.name for p in (REPO / "examples").iterdir() if (p / "rules.yaml").is_file())


@pytest.fixture(autouse=True)
def _crm_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TOKEN", "crm-token-for-tests")
    monkeypatch.setenv("BOTENGINE_RULE_SECRETS", "CRM_TOKEN")  # as its README says


def test_the_packs_each_with_a_readme() -> None:
    assert PACKS == [
        "analytics",
        "auto-reply",
        "campaign",
        "crm-sync",
        "follow-up",
        "group-guard",
        "menu-bot",
        "order-form",
        "reaction-campaign",
        "support-desk",
    ]
    assert all((REPO / "examples" / p / "README.md").is_file() for p in PACKS)


@pytest.mark.parametrize("pack", PACKS)
def test_pack_checks_clean(pack: str) -> None:
    loaded = load([REPO / "examples" / pack])
    assert [str(p) for p in loaded.problems] == []
    assert loaded.tests, f"{pack} ships no inline tests"


@pytest.mark.parametrize("pack", PACKS)
async def test_pack_passes_its_inline_tests(pack: str) -> None:
    rules = RuleSet.load([REPO / "examples" / pack])
    outcomes = await run_tests(rules)
    assert [(o.name, o.message) for o in outcomes if not o.passed] == []


def _serve_pack(tmp_path: Path, pack: str, fake_url: str):  # type: ignore[no-untyped-def]
    return running_engine(REPO / "examples" / pack, tmp_path / "data", wawp_url=fake_url)


def test_group_guard_removes_only_the_unlisted_joiner(tmp_path: Path) -> None:
    event = json.loads((REPO / "examples/group-guard/events/join-unlisted.json").read_text())
    fake = FakeWawp()
    with fake.serve() as url, _serve_pack(tmp_path, "group-guard", url) as bot:
        bot.post(event)
        [removal] = fake.wait_for(1, "/v2/groups/")
        [alert] = fake.wait_for(1, "/v2/send/text")
    assert removal.json == {"participants": [{"id": "15559990000@c.us"}]}  # not the listed member
    assert alert.json["chatId"] == "120363000000000001@g.us"


def test_reaction_campaign_once_per_person(tmp_path: Path) -> None:
    fake = FakeWawp()
    with fake.serve() as url, _serve_pack(tmp_path, "reaction-campaign", url) as bot:
        for emoji in ["❤️", "🔥", "❤️"]:
            bot.post(make_event("message.reaction", emoji=emoji, sender="15550001111@c.us"))
        bot.post(make_event("message.reaction", emoji="🔥", sender="15550002222@c.us"))
        bot.wait_processed(4)
        codes = bot.call(lambda e: issued_codes(e.storage, "winter-sale"))
        sent = fake.wait_for(2, "/v2/send/text")
    assert sorted(c.json["chatId"] for c in sent) == ["15550001111@c.us", "15550002222@c.us"]
    assert len(codes) == 2
    assert all(c["code"] in " ".join(m.json["message"] for m in sent) for c in codes)


async def test_auto_reply_closed_note_once_per_conversation() -> None:
    rules = RuleSet.load([REPO / "examples" / "auto-reply"])
    storage = MemoryStorage()
    saturday = datetime(2025, 11, 29, 20, 0, tzinfo=UTC)
    fired = []
    for text in ["hello", "anyone there?"]:
        evaluation = await rules.evaluate(view(make_event(text=text)), storage, now=saturday)
        fired.append([run.rule for run in evaluation.matches])
    assert fired == [["out-of-hours", "greeting"], []]


def _readme_commands() -> list[tuple[str, str]]:
    """(README, command line) for every line of a ```sh block in the examples' READMEs."""
    found = []
    for readme in sorted((REPO / "examples").glob("**/README.md")):
        for block in re.findall(r"```sh\n(.*?)```", readme.read_text(encoding="utf-8"), re.S):
            for line in block.splitlines():
                command = line.split("  #")[0].strip()
                if command:
                    found.append((str(readme.relative_to(REPO)), command))
    return found


COMMANDS = _readme_commands()


def test_the_readmes_call_the_installed_command_and_serve_in_dry_run() -> None:
    assert len(COMMANDS) >= 15
    for readme, command in COMMANDS:
        words = shlex.split(command)
        program = next(w for w in words if "=" not in w)
        assert program == ".venv/bin/botengine", f"{readme}: {command}"
        if "serve" in words:
            assert "--dry-run" in words, f"{readme}: {command} would send for real"


@pytest.mark.parametrize(("readme", "command"), [c for c in COMMANDS if " serve " not in c[1]])
def test_each_readme_command_works_as_written(
    readme: str, command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botengine.cli import main

    monkeypatch.chdir(REPO)  # "from the top folder of your checkout"
    words = shlex.split(command)
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        monkeypatch.setenv(name, value)
    assert main(words[1:]) == 0, capsys.readouterr()


def test_the_serve_command_of_the_examples_readme_starts(tmp_path: Path) -> None:
    [serve] = [c for _, c in COMMANDS if " serve " in c]
    args = shlex.split(serve)[2:]
    from botengine.cli import build_parser

    parsed = build_parser().parse_args(["serve", *args])
    assert parsed.dry_run is True and (REPO / parsed.rules).is_dir()


def test_campaign_stop_opts_out_and_shop_asks_with_a_poll(tmp_path: Path) -> None:
    from botengine.optouts import StoreOptOuts

    fake = FakeWawp()
    customer = "447700900002@c.us"
    with fake.serve() as url, _serve_pack(tmp_path, "campaign", url) as bot:
        bot.post(make_event(text="Stop", sender=customer, session="shop"))
        [answer] = fake.wait_for(1, "/v2/send/text")
        bot.post(make_event(text="shop", sender=customer, session="shop"))  # opted out: no poll now
        bot.post(make_event(text="shop", sender="447700900003@c.us", session="shop"))
        [poll] = fake.wait_for(1, "/v2/send/poll")
        opted_out = bot.call(lambda e: StoreOptOuts(e.storage).has("shop", customer))
    assert answer.json["message"].startswith("Done: you will get no more offers")
    assert poll.json["poll"]["options"] == ["High Street", "Station Road", "Online"]
    assert poll.json["chatId"] == "447700900003@c.us"
    assert opted_out


def _texts(fake: FakeWawp, chat: str) -> list[str]:
    return [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.json["chatId"] == chat]


def test_menu_bot_2_really_hands_the_chat_to_a_person(tmp_path: Path) -> None:
    customer, team = "447441429009@c.us", "120363025912345678@g.us"
    fake = FakeWawp()
    with fake.serve() as url, _serve_pack(tmp_path, "menu-bot", url) as bot:
        for n, text in enumerate(["menu", "2", "hello? anyone?", "still there?", "menu"], 1):
            bot.post(make_event(text=text, sender=customer, name="Alice"))
            bot.wait_processed(n)
            if text == "2":
                assert bot.get(handover_key("default", customer))["why"] == "picked 2 - talk to support"
        assert bot.get(handover_key("default", customer)) is None  # "menu" gave it back
    said = _texts(fake, customer)
    assert [t.split("\n")[0] for t in said] == [
        "What can we do for you?",
        "An agent will write to you here shortly. Tell us what happened meanwhile.",
        "Thanks, an agent has your message and will answer here. Send menu to go back to the bot.",
        "What can we do for you?",  # "still there?" got nothing: one note an hour, the rest quiet
    ]
    assert _texts(fake, team) == ["Alice (+447441429009) wants to talk to support"]


def test_support_desk_a_person_takes_over_and_stop_still_works(tmp_path: Path) -> None:
    customer, team = "447441429009@c.us", "120363025912345678@g.us"
    fake = FakeWawp()
    with fake.serve() as url, _serve_pack(tmp_path, "support-desk", url) as bot:
        fake.echo_to(bot.url + bot.settings.webhook_path)  # the bot's sends come back as own messages
        bot.post(make_event(text="Can I talk to a person?", sender=customer, name="Alice"))
        bot.wait_until(lambda: len(fake.calls_to("/v2/send/text")) >= 2, what="the team's note and the reply")
        bot.wait_processed(3)  # the question and the echoes of the two messages it sent
        handed = bot.get(handover_key("default", customer))
        bot.post(make_event("message.any", text="#bot", chat=customer, from_me=True))
        bot.wait_processed(4)
        assert bot.get(handover_key("default", customer)) is None
        bot.post(make_event("message.any", text="Hi Alice, Sam here", chat=customer, from_me=True))
        bot.wait_processed(5)
        sam = bot.get(handover_key("default", customer))
        bot.post(make_event(text="STOP", sender=customer))
        bot.wait_processed(7)  # STOP and the echo of its confirmation
    assert handed["why"].startswith("asked for a person")
    assert sam["why"] == "a colleague answered on the phone"
    [note] = _texts(fake, team)
    assert "Alice (+447441429009)" in note and note.endswith("Can I talk to a person?")
    assert _texts(fake, customer)[-1].startswith("Done: you will get no more messages from us.")


def test_order_form_asks_three_questions_and_tells_the_team(tmp_path: Path) -> None:
    fake = FakeWawp()
    customer = "447700900123@c.us"
    with fake.serve() as url, _serve_pack(tmp_path, "order-form", url) as bot:
        for n, text in enumerate(["order", "10423", "12 High Street, Leeds", "yes"], 1):
            bot.post(make_event(text=text, sender=customer))
            fake.wait_for(n, "/v2/send/text")
        [team] = [c for c in fake.wait_for(5, "/v2/send/text") if c.json["chatId"].endswith("@g.us")]
    to_customer = [c.json["message"] for c in fake.calls_to("/v2/send/text") if c.json["chatId"] == customer]
    assert (
        to_customer[1] == "Thanks! Which address should order 10423 go to? Street, number and town, please."
    )
    assert to_customer[3] == "Done! Order 10423 will go to 12 High Street, Leeds."
    assert (
        team.json["message"] == "New address for order 10423: 12 High Street, Leeds (customer 447700900123)"
    )
