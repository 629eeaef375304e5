"""Every trigger kind, with an event that matches and one that does not (and the reason why)."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from botengine.rules.triggers import TRIGGERS
from botengine.state import set_var
from botengine.storage.memory import MemoryStorage
from botengine.testing import make_event
from tests.rules_helpers import evaluate, fired, ruleset, sample, view, why_not

GROUP = "120363025912345678@g.us"


def one_rule(tmp_path: Path, trigger: str, on: str = "message") -> str:
    return f"""
    rules:
      - name: r
        on: {on}
        if:
          {trigger}
        do:
          - reply: ok
    """


async def check(
    tmp_path: Path, trigger: str, yes: object, no: object, reason: str, on: str = "message"
) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, trigger, on))
    assert await fired(rules, yes) == ["r"]  # type: ignore[arg-type]
    assert reason in await why_not(rules, no, "r")  # type: ignore[arg-type]


async def test_on_exact_list_and_wildcard(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - {name: exact, on: message, do: [{reply: a}]}
          - {name: listed, on: [message.ack, call.received], do: [{reply: b}]}
          - {name: wild, on: "message.*", do: [{reply: c}]}
        """,
    )
    assert await fired(rules, sample("message-text-private")) == ["exact"]
    assert await fired(rules, sample("message-ack-delivered")) == ["listed", "wild"]
    assert await fired(rules, sample("message-reaction")) == ["wild"]
    assert rules.candidates("presence.update") == ()


async def test_session(tmp_path: Path) -> None:
    await check(
        tmp_path,
        "session: acme_*",
        sample("message-text-private"),
        view(make_event(text="x")),
        "session is default, rule wants acme_*",
    )


async def test_chat_kind(tmp_path: Path) -> None:
    await check(
        tmp_path,
        "chat: contact",
        sample("message-text-private"),
        sample("message-text-group"),
        "chat is group, rule wants contact",
    )
    await check(
        tmp_path / "2",
        "chat: [group, channel]",
        sample("message-channel"),
        sample("message-lid"),
        "chat is lid, rule wants channel or group",
    )


async def test_chat_id_never_confuses_a_contact_with_a_group_of_the_same_digits(tmp_path: Path) -> None:
    contact = view(make_event(text="x", sender="120363025912345678@c.us"))
    await check(
        tmp_path,
        f"chat_id: '{GROUP}'",
        sample("message-text-group"),
        contact,
        f"chat 120363025912345678@c.us is not {GROUP}",
    )


async def test_sender_glob_and_named_list(tmp_path: Path) -> None:
    await check(
        tmp_path,
        "sender: '4474*@c.us'",
        sample("message-text-private"),
        view(make_event(text="x", sender="15551234567@c.us")),
        "sender 15551234567@c.us is not 4474*@c.us",
    )
    (tmp_path / "l" / "lists").mkdir(parents=True)
    (tmp_path / "l" / "lists" / "vip.txt").write_text("# VIPs\n447441429009@c.us  # Alice\n\n")
    await check(
        tmp_path / "l",
        "sender: {in: vip}",
        sample("message-text-private"),
        view(make_event(text="x", sender="15551234567@c.us")),
        "is not in list 'vip'",
    )


async def test_text_regex_named_groups_and_case(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, r"text: 'ORDER\s+(?P<number>\d+)'"))
    run = (await evaluate(rules, view(make_event(text="my order 42 please")))).matches[0]
    assert run.variables["number"] == "42"
    assert "text does not match" in await why_not(rules, view(make_event(text="order none")), "r")


async def test_text_case_sensitive_option(tmp_path: Path) -> None:
    await check(
        tmp_path,
        "text: {pattern: 'SALE', case_sensitive: true}",
        view(make_event(text="big SALE")),
        view(make_event(text="big sale")),
        "text does not match /SALE/",
    )


async def test_many_regex_rules_use_the_set_and_still_report_groups(tmp_path: Path) -> None:
    lines = ["rules:"]
    for i in range(50):
        lines += [
            f"  - name: r{i}",
            "    if:",
            f"      text: 'code{i}-(?P<n{i}>\\d+)\\b'",
            "    do: [{reply: x}]",
        ]
    (tmp_path / "many.yaml").write_text("\n".join(lines))
    from botengine.rules import RuleSet

    rules = RuleSet.load([tmp_path])
    result = await evaluate(rules, view(make_event(text="see code7-99 and code13-5")))
    assert [(r.rule, r.variables.get("n7"), r.variables.get("n13")) for r in result.matches] == [
        ("r7", "99", None),
        ("r13", None, "5"),
    ]
    nothing = await evaluate(rules, view(make_event(text="no codes here")))
    # none is visited (the RE2 Set found none of their regexes), so the trace only counts them
    assert nothing.matches == [] and nothing.trace == [] and nothing.not_shown == 50
    explained = await evaluate(rules, view(make_event(text="no codes here")), explain=True)
    assert explained.trace[0].reason == "text does not match /code0-(?P<n0>\\d+)\\b/"
    assert len(explained.trace) == 50 and explained.not_shown == 0


async def test_keywords(tmp_path: Path) -> None:
    await check(
        tmp_path / "c",
        "contains: [price, COST]",
        view(make_event(text="What does it cost?")),
        view(make_event(text="hello")),
        "text does not contain 'price' or 'COST'",
    )
    await check(
        tmp_path / "s",
        "starts_with: order",
        view(make_event(text="  ORDER 5")),
        view(make_event(text="my order")),
        "text does not start with 'order'",
    )
    await check(
        tmp_path / "e",
        "equals: [menu, start]",
        view(make_event(text=" Menu ")),
        view(make_event(text="menu please")),
        "text is not 'menu' or 'start'",
    )


@pytest.mark.parametrize(
    ("trigger", "reason"),
    [
        ("ack: delivered", "ack is read, rule wants delivered"),
        ("ack: 2", "rule wants delivered"),
        ("ack: '<= delivered'", "ack is read, rule wants <= delivered"),
    ],
)
async def test_ack(tmp_path: Path, trigger: str, reason: str) -> None:
    await check(
        tmp_path,
        trigger,
        sample("message-ack-delivered"),
        sample("message-ack-read"),
        reason,
        on="message.ack",
    )


async def test_ack_comparison(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "ack: '>= delivered'", on="message.ack"))
    assert await fired(rules, sample("message-ack-read")) == ["r"]
    assert "ack is sent" in await why_not(rules, view(make_event("message.ack", ack=1)), "r")


@pytest.mark.parametrize(("written", "sent"), [("❤", "❤️"), ("❤️", "❤"), ("👍", "👍🏽"), ("👍🏽", "👍")])
async def test_emoji_variants_match(tmp_path: Path, written: str, sent: str) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, f"emoji: '{written}'", on="message.reaction"))
    assert await fired(rules, view(make_event("message.reaction", emoji=sent))) == ["r"]


async def test_emoji_list_wawp_shape_and_removed(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "emoji: ['🔥', '❤']", on="message.reaction"))
    assert await fired(rules, sample("message-reaction-wawp-shape")) == ["r"]
    assert await fired(rules, sample("message-reaction")) == ["r"]
    assert await why_not(rules, sample("message-reaction-removed"), "r") == "emoji: the reaction was removed"
    assert "rule wants" in await why_not(rules, view(make_event("message.reaction", emoji="😮")), "r")


async def test_removed_reaction_trigger(tmp_path: Path) -> None:
    await check(
        tmp_path,
        "removed: true",
        sample("message-reaction-removed"),
        sample("message-reaction"),
        "the reaction was not removed",
        on="message.reaction",
    )


async def test_own_messages_are_ignored_unless_asked(tmp_path: Path) -> None:
    default = ruleset(tmp_path / "d", one_rule(tmp_path, "chat: contact"))
    assert "our own message" in await why_not(default, sample("message-from-me"), "r")
    await check(
        tmp_path / "o",
        "from_me: true",
        sample("message-from-me"),
        sample("message-text-private"),
        "not our own message",
    )


async def test_acks_are_not_ignored_as_own_messages(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "ack: read", on="message.ack"))
    assert await fired(rules, sample("message-ack-read")) == ["r"]


async def test_group_read_receipts_are_not_ignored_as_own_messages(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "ack: read", on="message.ack*"))
    assert await fired(rules, sample("waha-schema/message.ack.group")) == ["r"]


@pytest.mark.parametrize("written", ["audio/ogg", "'audio/*'", "AUDIO/OGG", "'audio/ogg; codecs=opus'"])
async def test_media_types_match_without_their_parameters(tmp_path: Path, written: str) -> None:
    await check(
        tmp_path,
        f"media: {written}",
        sample("waha-schema/message-voice-note"),  # audio/ogg; codecs=opus
        sample("message-image-caption"),
        "media type is image/jpeg, rule wants",
    )


async def test_media(tmp_path: Path) -> None:
    await check(
        tmp_path / "b",
        "media: true",
        sample("message-image-caption"),
        sample("message-text-private"),
        "the message has no media",
    )
    await check(
        tmp_path / "m",
        "media: 'image/*'",
        sample("message-image-caption"),
        sample("message-text-private"),
        "media type is (none), rule wants image/*",
    )


async def test_group_action_and_participant(tmp_path: Path) -> None:
    on = "group.participants.update"
    leave = view(make_event(on, chat=GROUP, group_action="leave", participants=["15551234567@c.us"]))
    await check(
        tmp_path / "a",
        "action: join",
        sample("group-participants-join"),
        leave,
        "group action is leave, rule wants join",
        on=on,
    )
    other = view(make_event(on, chat=GROUP, participants=["447000000000@c.us"]))
    await check(
        tmp_path / "p",
        "participant: '1555*@c.us'",
        sample("group-participants-join"),
        other,
        "participants 447000000000@c.us are not 1555*@c.us",
        on=on,
    )


async def test_hours_and_outside_hours(tmp_path: Path) -> None:
    window = '{days: mon-fri, from: "09:00", to: "18:00", tz: Europe/London}'
    tuesday_noon = datetime(2025, 11, 25, 12, 0, tzinfo=UTC)
    saturday = datetime(2025, 11, 29, 12, 0, tzinfo=UTC)
    tuesday_night = datetime(2025, 11, 25, 19, 0, tzinfo=UTC)
    event = view(make_event(text="x"))
    inside = ruleset(tmp_path / "in", one_rule(tmp_path, f"hours: {window}"))
    assert await fired(inside, event, now=tuesday_noon) == ["r"]
    assert "Sat 12:00 UTC is outside mon,tue,wed,thu,fri 09:00-18:00 Europe/London" in await why_not(
        inside, event, "r", now=saturday
    )
    outside = ruleset(tmp_path / "out", one_rule(tmp_path, f"outside_hours: {window}"))
    assert await fired(outside, event, now=tuesday_night) == ["r"]
    assert "is inside" in await why_not(outside, event, "r", now=tuesday_noon)


async def test_hours_overnight_and_unquoted_times(tmp_path: Path) -> None:
    # 22:00 unquoted is the YAML 1.1 number 1320; it still means 22:00
    rules = ruleset(tmp_path, one_rule(tmp_path, "hours: {days: fri, from: 22:00, to: '06:00'}"))
    assert await fired(rules, view(make_event(text="x")), now=datetime(2025, 11, 29, 3, 0, tzinfo=UTC)) == [
        "r"
    ]
    assert await fired(rules, view(make_event(text="x")), now=datetime(2025, 11, 30, 3, 0, tzinfo=UTC)) == []


async def test_state(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "state: {menu: main}"))
    event = view(make_event(text="1"))
    storage = MemoryStorage()
    assert (await rules.evaluate(event, storage, dry_run=True)).trace[
        0
    ].reason == "state menu is None, rule wants 'main'"
    await set_var(storage, event.session, "chat", event.chat.id, "menu", "main", None)
    assert [r.rule for r in (await rules.evaluate(event, storage, dry_run=True)).matches] == ["r"]


async def test_expr(tmp_path: Path) -> None:
    await check(
        tmp_path,
        "expr: len(text) < 10 and sender.number == '12025550100'",
        view(make_event(text="short")),
        view(make_event(text="a much longer message")),
        "is false",
    )


async def test_expr_runtime_error_is_reported_not_raised(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "expr: int(text) > 3"))
    entry = (await evaluate(rules, view(make_event(text="abc")))).trace[0]
    assert entry.outcome == "error"
    assert "ValueError" in (entry.reason or "")


async def test_expressions_cannot_reach_methods(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "expr: text.upper() == 'X'"))
    entry = (await evaluate(rules, view(make_event(text="x")))).trace[0]
    assert entry.outcome == "error"


async def test_expr_reads_a_missing_field_as_none_not_as_an_error(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "expr: media.mimetype == 'image/jpeg'"))
    assert await fired(rules, sample("message-image-caption")) == ["r"]
    entry = (await evaluate(rules, sample("message-text-private"))).trace[0]
    assert (entry.outcome, entry.reason) == (
        "unmatched",
        "expression \"media.mimetype == 'image/jpeg'\" is false",
    )


async def test_expr_method_calls_fail_with_a_hint(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, one_rule(tmp_path, "expr: text.lower() == 'hi'"))
    entry = (await evaluate(rules, view(make_event(text="hi")))).trace[0]
    assert entry.outcome == "error"
    assert "is a method call, which expressions cannot make: use a function, e.g. lower(x)" in str(
        entry.reason
    )


def test_every_trigger_compiles_the_type_it_declares() -> None:
    """A kind's declared type (schema, validation) is the one its compile function is written for."""
    for name, kind in TRIGGERS.items():
        hints = typing.get_type_hints(kind.compile, include_extras=True)
        assert hints["value"] == kind.type_, name
