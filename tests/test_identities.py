"""A person arriving as `…@lid` matches rules and lists written with their phone number, and back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from botengine.dashboard.traces import TraceStore
from botengine.events import parse_envelope, view_of
from botengine.identities import Identities, lid_key, phone_key
from botengine.processing import Processed
from botengine.rules.engine import RuleSet
from botengine.storage import Storage
from botengine.storage.memory import MemoryStorage
from botengine.testing import FakeWawp, make_event
from botengine.testing.engine import running_engine
from tests.conftest import SAMPLES
from tests.rules_helpers import evaluate, write_rules

LID = "215589313241560@lid"
PHONE = "447441429009@c.us"
GROUP = "120363025912345678@g.us"


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def lid_only_message(text: str = "hello again") -> dict[str, Any]:
    """A private message from the person as @lid only: nothing in it tells their number."""
    return make_event(text=text, sender=LID, name="Alice")


def vip_rules(folder: Path) -> Path:
    write_rules(
        folder,
        """
        rules:
          - name: vip
            if: {sender: {in: vip}}
            do: [{reply: "Hello {{ sender.name }} ({{ sender.number }})"}]
        """,
    )
    (folder / "lists").mkdir(exist_ok=True)
    (folder / "lists" / "vip.txt").write_text(f"{PHONE}   # Alice, written with her number\n")
    return folder


def test_a_lid_sender_matches_a_phone_list_once_an_event_told_both(tmp_path: Path) -> None:
    fake = FakeWawp()
    with (
        fake.serve() as url,
        running_engine(vip_rules(tmp_path / "rules"), tmp_path / "data", wawp_url=url) as bot,
    ):
        bot.post(lid_only_message("before anyone told us"))  # not known yet: no reply
        bot.wait_processed(1)
        # a group message whose engine names her number beside her @lid (participantAlt)
        bot.post(sample("waha-schema/message-lid-alt.json"))
        bot.post(lid_only_message("after"))
        bot.wait_processed(3)
        sent = fake.wait_for(2, "/v2/send/text")
        assert bot.get(lid_key(LID)) == PHONE and bot.get(phone_key(PHONE)) == LID
    assert [(c.json["chatId"], c.json["message"]) for c in sent] == [
        (GROUP, "Hello Alice (447441429009)"),
        (LID, "Hello Alice (447441429009)"),  # the reply goes to the chat as the event named it
    ]


async def test_a_rule_written_with_the_lid_matches_the_phone_form(tmp_path: Path) -> None:
    write_rules(tmp_path, f"rules:\n  - name: r\n    if: {{sender: '{LID}'}}\n    do: [{{reply: hi}}]\n")
    rules = RuleSet.load([tmp_path])
    storage = MemoryStorage()
    identities = Identities(storage)
    await identities.complete(view_of(_envelope(sample("waha-schema/message-lid-alt.json"))))
    by_number = await Identities(storage).complete(view_of(_envelope(make_event(text="hi", sender=PHONE))))
    assert (by_number.sender and by_number.sender.lid) == LID
    assert [r.rule for r in (await evaluate(rules, by_number, storage)).matches] == ["r"]


async def test_participant_and_not_in_lists_see_both_forms(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """
        rules:
          - name: welcome
            on: group.v2.participants
            if: {action: join, participant: '15551234567@c.us'}
            do: [{send: {to: '1@c.us', text: "{{ participants | join(',') }}"}}]
          - name: guard
            on: group.v2.participants
            if: {participant: {not_in: members}}
            do: [{remove: {}}]
        """,
    )
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "members.txt").write_text("15551234567@c.us\n")
    rules = RuleSet.load([tmp_path])
    joined = view_of(_envelope(sample("waha-schema/group.v2.participants-join.json")))  # @lid with its pn
    evaluation = await evaluate(rules, joined)
    assert [r.rule for r in evaluation.matches] == ["welcome"]  # a listed member is not removed
    assert evaluation.matches[0].variables["participants"] == ["111122223333444@lid"]  # as the event said
    guard = next(e for e in evaluation.trace if e.rule == "guard")
    assert (
        guard.reason == "participants 111122223333444@lid (15551234567@c.us) are not outside list 'members'"
    )


async def test_a_dry_run_learns_nothing(tmp_path: Path) -> None:
    storage = MemoryStorage()
    view = await Identities(storage, learn=False).complete(
        view_of(_envelope(sample("waha-schema/message-lid-alt.json")))
    )
    assert view.sender is not None and view.sender.phone == PHONE  # the event itself says it
    assert await storage.get(lid_key(LID)) is None and await storage.get(phone_key(PHONE)) is None


async def test_the_trace_shows_both_forms(tmp_path: Path) -> None:
    storage = MemoryStorage()
    rules = RuleSet.load([vip_rules(tmp_path)])
    view = view_of(_envelope(sample("waha-schema/message-lid-alt.json")))
    traces = TraceStore(storage)
    await traces.record(Processed(view, await rules.evaluate(view, storage, dry_run=True)))
    [trace] = await traces.recent()
    assert trace["sender"] == f"{LID} ({PHONE})"
    assert (trace["view"]["sender"]["phone"], trace["view"]["sender"]["lid"]) == (PHONE, LID)
    assert "payload" not in trace["view"]  # the raw body is not copied into every trace


async def test_an_unreachable_store_costs_the_other_form_not_the_event() -> None:
    pytest.importorskip("redis")
    from botengine.storage.redis import RedisStorage

    store: Storage = RedisStorage("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        view = view_of(_envelope(lid_only_message()))
        assert await Identities(store).complete(view) is view
    finally:
        await store.close()


async def test_known_pairs_are_not_written_again(tmp_path: Path) -> None:
    storage = MemoryStorage()
    identities = Identities(storage)
    event = view_of(_envelope(sample("waha-schema/message-lid-alt.json")))
    await identities.complete(event)
    await storage.delete(lid_key(LID))  # gone from the store…
    await identities.complete(event)  # …but this process wrote it already: no second write
    assert await storage.get(lid_key(LID)) is None
    fresh = Identities(storage)  # another worker does write it
    await fresh.complete(event)
    assert await storage.get(lid_key(LID)) == PHONE


def _envelope(body: dict[str, Any]) -> Any:
    envelope = parse_envelope(json.dumps(body).encode())
    assert not isinstance(envelope, list), envelope
    return envelope


async def test_chat_id_written_with_the_number_matches_the_lid_chat(tmp_path: Path) -> None:
    write_rules(tmp_path, f"rules:\n  - name: r\n    if: {{chat_id: '{PHONE}'}}\n    do: [{{reply: hi}}]\n")
    rules = RuleSet.load([tmp_path])
    storage = MemoryStorage()
    await Identities(storage).complete(view_of(_envelope(sample("waha-schema/message-lid-alt.json"))))
    private = await Identities(storage).complete(view_of(_envelope(lid_only_message())))
    assert private.chat.forms == (LID, PHONE)
    assert [r.rule for r in (await evaluate(rules, private, storage)).matches] == ["r"]
