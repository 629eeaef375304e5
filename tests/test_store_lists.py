"""Store lists in the rules language: what `check` says, how `{in: list}` reads them (every form of
a person, each (list, JID) read once per event), the union with a list file, hostile names."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from botengine.events import parse_envelope, view_of
from botengine.rules.loader import load
from botengine.sample_events import DEFAULT_SENDER
from botengine.storage.memory import MemoryStorage
from botengine.store_lists import ListNameError, StoreLists, check_name, jid_for, written_names
from botengine.testing import make_event
from tests.conftest import SAMPLES, StorageFactory
from tests.conversation.test_state_variables import CountingStorage
from tests.rules_helpers import evaluate, ruleset, view

LID = "111122223333444@lid"  # the joiner of the sample below, whose number is 15551234567


def problems(tmp_path: Path, text: str, *, lists: dict[str, str] | None = None) -> list[str]:
    (tmp_path / "r.yaml").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    for name, body in (lists or {}).items():
        (tmp_path / "lists").mkdir(exist_ok=True)
        (tmp_path / "lists" / f"{name}.txt").write_text(body)
    return [str(p).replace(f"{tmp_path}/", "") for p in load([tmp_path]).problems]


READS_AND_WRITES = """
rules:
  - name: vip-hello
    if: {sender: {in: vip}}
    do: [{reply: "Hello VIP"}]
  - name: join
    if: {equals: join}
    do: [{later: {after: 1m, do: [{add_to: vip}]}}]
"""


def test_a_list_a_rule_adds_to_is_known_to_every_rule_even_earlier_ones(tmp_path: Path) -> None:
    assert problems(tmp_path, READS_AND_WRITES) == []


def test_a_list_no_file_and_no_rule_keeps_is_unknown(tmp_path: Path) -> None:
    found = problems(tmp_path, "rules:\n  - name: r\n    if: {sender: {in: vipp}}\n    do: [{reply: hi}]\n")
    [message] = found
    assert "no list named 'vipp' (put it in lists/vipp.txt, or add to it with add_to: vipp)" in message


def test_the_did_you_mean_knows_store_lists(tmp_path: Path) -> None:
    text = READS_AND_WRITES + "  - name: typo\n    if: {sender: {not_in: vpi}}\n    do: [{reply: hi}]\n"
    [message] = problems(tmp_path, text)
    assert message.startswith("r.yaml:9:") and "did you mean 'vip'?" in message


def test_a_name_that_is_a_file_and_a_store_list_is_the_union_and_check_says_so(tmp_path: Path) -> None:
    [warning] = problems(tmp_path, READS_AND_WRITES, lists={"vip": "447441429009@c.us\n"})
    assert warning.startswith("r.yaml:3:")
    assert "'vip' is both lists/vip.txt and a list rules add to: it holds the people of both" in warning


def test_words_triggers_cannot_read_a_list_of_people(tmp_path: Path) -> None:
    text = READS_AND_WRITES + "  - name: words\n    if: {contains: {in: vip}}\n    do: [{reply: hi}]\n"
    [message] = problems(tmp_path, text)
    assert "'vip' is a list of people rules keep with add_to:, not a list file" in message
    assert "sender: {in: vip}" in message


ODD_NAMES = ["../etc/passwd", "lists/vip", "vip.txt", "a b", "", "x" * 65, "{{ sender.name }}"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_a_list_name_with_path_or_odd_characters_is_refused_by_check(tmp_path: Path, name: str) -> None:
    text = f"rules:\n  - name: r\n    do: [{{add_to: {json.dumps(name)}}}]\n"
    found = problems(tmp_path, text)
    message = found[-1]
    assert message.startswith("r.yaml:3:") and "add_to: list:" in message
    if name == "{{ sender.name }}":  # a template cannot name a list: nothing could read it
        assert "is a template" in message


def test_written_names_are_found_inside_nested_actions() -> None:
    root = {"rules": [{"do": [{"later": {"do": [{"add_to": "a"}, {"remove_from": {"list": "b"}}]}}]}]}
    assert written_names([root, None, {"rules": "x"}]) == {"a", "b"}


@pytest.mark.parametrize(
    "who",
    ["../x@c.us", "447700900123@c.us\nx", "447700900123@c.us\x1fx", "a@evil", "1" * 200, "@c.us", "12"],
)
def test_odd_jids_are_refused_with_a_clear_error(who: str) -> None:
    with pytest.raises(ListNameError, match="is not a phone number or a WhatsApp JID"):
        jid_for(who)


def test_numbers_become_jids() -> None:
    assert jid_for("+44 7700 900123") == "447700900123@c.us"
    assert jid_for("120363025912345678@g.us") == "120363025912345678@g.us"
    with pytest.raises(ListNameError, match="is not a list name"):
        check_name("../vip")


# -- reading them per event ---------------------------------------------------------------------


SEVERAL = """
rules:
  - name: a
    if: {sender: {in: vip}}
    do: [{reply: a}]
  - name: b
    if: {sender: {in: vip}, equals: hi}
    do: [{reply: b}]
  - name: c
    if: {sender: {not_in: vip}}
    do: [{reply: c}]
  - name: d
    if: {chat_id: {in: vip}, equals: never}
    do: [{reply: d}]
  - name: keep
    if: {equals: zzz}
    do: [{add_to: vip}]
"""


async def test_each_person_is_read_once_per_event_and_only_when_a_rule_gets_that_far(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, SEVERAL)
    storage = CountingStorage()
    await StoreLists(storage).add("default", "vip", DEFAULT_SENDER)
    storage.reads.clear()
    evaluation = await evaluate(rules, view(make_event(text="hi")), storage)
    assert [r.rule for r in evaluation.matches] == ["a", "b"]
    member_reads = [k for k in storage.reads if k.startswith("list:")]
    assert len(member_reads) == 1  # three rules ask, one read; d's `equals` failed before its list
    storage.reads.clear()
    evaluation = await evaluate(rules, view(make_event(text="hi", sender="15550009999@c.us")), storage)
    assert [r.rule for r in evaluation.matches] == ["c"]
    assert evaluation.matches and len([k for k in storage.reads if k.startswith("list:")]) == 1


async def test_a_rule_without_a_store_list_reads_no_list(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, "rules:\n  - name: r\n    if: {equals: hi}\n    do: [{reply: hi}]\n")
    storage = CountingStorage()
    await evaluate(rules, view(make_event(text="hi")), storage)
    assert not [k for k in storage.reads if k.startswith("list:")]


def joined_by_lid() -> Any:
    envelope = json.loads((SAMPLES / "waha-schema/group.v2.participants-join.json").read_text())
    parsed = parse_envelope(json.dumps(envelope.get("body", envelope)).encode())
    assert not isinstance(parsed, list)
    return view_of(parsed)


async def test_participant_and_chat_id_read_store_lists_in_every_form(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: welcome-member
            on: group.v2.participants
            if: {participant: {in: members}}
            do: [{send: {to: '1@c.us', text: "{{ participants | join(',') }}"}}]
          - name: guard
            on: group.v2.participants
            if: {participant: {not_in: members}}
            do: [{remove: {}}]
          - name: keep
            if: {equals: zzz}
            do: [{add_to: members}, {add_to: groups}]
          - name: group-hello
            if: {chat_id: {in: groups}}
            do: [{reply: hi group}]
        """,
    )
    storage = MemoryStorage()
    joined = joined_by_lid()
    assert [r.rule for r in (await evaluate(rules, joined, storage)).matches] == ["guard"]
    await StoreLists(storage).add(joined.session, "members", "15551234567")  # by number; the event says @lid
    evaluation = await evaluate(rules, joined, storage)
    assert [r.rule for r in evaluation.matches] == ["welcome-member"]
    assert evaluation.matches[0].variables["participants"] == [LID]
    group = "120363025912345678@g.us"
    message = view(make_event(text="hello", chat=group, sender="15550001111@c.us"))
    assert (await evaluate(rules, message, storage)).matches == []
    await StoreLists(storage).add("default", "groups", group)
    assert [r.rule for r in (await evaluate(rules, message, storage)).matches] == ["group-hello"]


async def test_the_union_of_a_file_and_the_store(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "vip.txt").write_text("447441429009@c.us  # Alice, by hand\n")
    rules = ruleset(tmp_path, SEVERAL)
    storage = MemoryStorage()
    await StoreLists(storage).add("default", "vip", "15550002222@c.us")
    for sender, fired in [
        ("447441429009@c.us", ["a"]),
        ("15550002222@c.us", ["a"]),
        ("15550003333@c.us", ["c"]),
    ]:
        evaluation = await evaluate(rules, view(make_event(text="x", sender=sender)), storage)
        assert [r.rule for r in evaluation.matches] == fired, sender


async def test_the_trace_says_why_a_store_list_did_not_match(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, SEVERAL)
    evaluation = await evaluate(rules, view(make_event(text="hi")), MemoryStorage(), explain=True)
    a = next(e for e in evaluation.trace if e.rule == "a")
    assert a.reason == f"sender {DEFAULT_SENDER} is not in list 'vip'"


# -- the store ----------------------------------------------------------------------------------


async def test_members_are_kept_per_session_and_list_with_when_and_why(
    storage_factory: StorageFactory,
) -> None:
    lists = StoreLists(storage_factory())
    await lists.add("shop", "vip", "447441429009@c.us", by="rule join", note="asked")
    await lists.add("shop", "vip", "15550002222", ttl=3600)
    await lists.add("other", "vip", "447441429009@c.us")
    await lists.add("shop", "staff", "447441429009@c.us")
    shop = await lists.members("shop")
    assert [(m.list, m.jid) for m in shop] == [
        ("staff", "447441429009@c.us"),
        ("vip", "15550002222@c.us"),
        ("vip", "447441429009@c.us"),
    ]
    alice = shop[2]
    assert (alice.by, alice.note, alice.until) == ("rule join", "asked", None)
    assert shop[1].until is not None and shop[1].until > shop[1].at
    assert len(await lists.members()) == 4
    assert await lists.remove("shop", "vip", "447441429009@c.us")
    assert not await lists.remove("shop", "vip", "447441429009@c.us")
    assert not await lists.has("shop", "vip", "447441429009@c.us")
    assert await lists.has("other", "vip", "447441429009@c.us")


async def test_a_huge_list_stays_one_read_per_person(tmp_path: Path) -> None:
    storage = CountingStorage()
    lists = StoreLists(storage)
    for n in range(5000):
        await lists.add("default", "vip", f"1555{n:07d}@c.us")
    rules = ruleset(tmp_path, SEVERAL)
    storage.reads.clear()
    evaluation = await evaluate(rules, view(make_event(text="hi", sender="15550004999@c.us")), storage)
    assert [r.rule for r in evaluation.matches] == ["a", "b"]
    assert len([k for k in storage.reads if k.startswith("list:")]) == 1
    assert len(await lists.members("default")) == 5000


# -- lists.NAME in templates and expressions ------------------------------------------------------

READING = """
rules:
  - name: hello
    if: {equals: hello}
    do: [{reply: "{% if lists.vip %}Welcome back!{% else %}Hello!{% endif %} {{ lists.staff }}"}]
  - name: either
    if: {equals: either, expr: "lists.vip or lists.staff"}
    do: [{reply: "one of us"}]
  - name: keep
    if: {equals: zzz}
    do: [{add_to: vip}]
"""


async def test_templates_and_expressions_read_lists_by_name(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "staff.txt").write_text("15550002222@c.us\n")
    rules = ruleset(tmp_path, READING)
    storage = CountingStorage()
    await StoreLists(storage).add("default", "vip", DEFAULT_SENDER)
    storage.reads.clear()
    [run] = (await evaluate(rules, view(make_event(text="hello")), storage)).matches
    assert run.variables["lists"] == {"staff": False, "vip": True}
    assert len([k for k in storage.reads if k.startswith("list:")]) == 1  # the file list: no read
    staff = view(make_event(text="either", sender="15550002222@c.us"))
    assert [r.rule for r in (await evaluate(rules, staff, storage)).matches] == ["either"]
    nobody = view(make_event(text="either", sender="15550003333@c.us"))
    assert (await evaluate(rules, nobody, storage)).matches == []


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ('do: [{reply: "{{ lists }}"}]', "lists is read as a whole; read a list by its name: lists.vip"),
        ('do: [{reply: "{{ lists[sender.name] }}"}]', "lists is read as a whole"),
        ('do: [{reply: "{{ lists.vpi }}"}]', "lists: no list named 'vpi'"),
        ('if: {expr: "lists.vpi"}\n    do: [{reply: hi}]', "expr: no list named 'vpi'"),
        ('if: {expr: "len(lists) > 1"}\n    do: [{reply: hi}]', "expr: lists is read as a whole"),
    ],
)
def test_check_says_which_list_reads_cannot_work(tmp_path: Path, written: str, said: str) -> None:
    text = READS_AND_WRITES + f"  - name: reads\n    {written}\n"
    found = [p for p in problems(tmp_path, text) if "rule 'reads'" in p]
    assert len(found) == 1 and said in found[0], found


def test_a_list_that_is_kept_but_never_read_is_a_warning_with_a_did_you_mean(tmp_path: Path) -> None:
    text = (
        READS_AND_WRITES
        + "  - name: typo\n    if: {equals: club}\n    do: [{add_to: vpi}, {remove_from: vpi}]\n"
    )
    [warning] = problems(tmp_path, text)
    said = "warning: no rule reads the list 'vpi' that add_to keeps (did you mean 'vip'?)"
    assert warning == f"r.yaml:10:1: {said}"  # once, at the first action that keeps it


async def test_a_phone_in_another_spelling_is_the_same_member(tmp_path: Path) -> None:
    """NOWEB writes `447…@s.whatsapp.net` (a device too, `447…:12@…`): kept as `447…@c.us`, so a
    WEBJS event, `remove_from` by number and the dashboard all find the same person."""
    rules = ruleset(tmp_path, SEVERAL)
    storage = MemoryStorage()
    lists = StoreLists(storage)
    await lists.add("default", "vip", "447441429009:12@s.whatsapp.net")
    evaluation = await evaluate(rules, view(make_event(text="x", sender="447441429009@c.us")), storage)
    assert [r.rule for r in evaluation.matches] == ["a"]
    assert [m.jid for m in await lists.members()] == ["447441429009@c.us"]
    assert await lists.remove("default", "vip", "+44 7441 429009")
