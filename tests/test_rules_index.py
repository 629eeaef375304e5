"""The rule index skips only rules that could not fire: random rules × random events, the rules
fired through the index equal those fired by trying every rule (`explain=True`), with the same
variables, and the index visits few rules when few can fire."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botengine.events import EventView
from botengine.rules import RuleSet
from botengine.rules.index import RuleIndex
from botengine.testing import make_event
from tests.rules_helpers import evaluate, sample, view

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PEOPLE = ["447700900001@c.us", "447700900002@c.us", "15550001111@c.us"]
GROUP = "120363025912345678@g.us"
# a person known by both forms in examples/events/waha-schema/: each form must find the rule
LID_SENDER = ["215589313241560@lid", "447441429009@c.us"]
LID_MEMBER = ["111122223333444@lid", "15551234567@c.us"]
WORDS = ["price", "cost", "order", "hi", "café", "STRASSE", "价格", "🎉"]
TEXTS = [
    "hi there",
    "Hi! what is the price?",
    "the cost of an order",
    "costume party 🎉",
    "ORDER 42 please",
    "un café",
    "Straße",
    "这个价格多少",
    "",
    "hello",
]

VALUES: dict[str, list[Any]] = {
    "chat": ["contact", "group", ["contact", "group"]],
    "chat_id": [PEOPLE[0], GROUP, "4477*@c.us", [PEOPLE[1], GROUP], {"in": "vip"}],
    "sender": [PEOPLE[0], PEOPLE[2], "1555*@c.us", PEOPLE[:2], {"in": "vip"}, {"not_in": "vip"}, *LID_SENDER],
    "participant": [PEOPLE[0], [PEOPLE[1], PEOPLE[2]], "4477*@c.us", *LID_MEMBER],
    "session": ["default", "other", "def*", ["default", "other"]],
    "action": ["join", "leave", ["join", "promote"]],
    "contains": [*WORDS, WORDS[:3], {"in": "words"}],
    "contains_anywhere": ["cost", "price", ["ord", "caf"]],
    "starts_with": ["hi", "the", ["order", "un"], "这个"],
    "equals": ["hi there", "hello", ["", "straße"], "HELLO"],
    "text": [r"^hi\b", r"order\s*(?P<number>\d+)", r"(?P<n>\d+)", "price", r"\bcost\b"],
    "emoji": ["❤", "👍", ["👍", "🎉"]],
    "ack": ["read", ">= delivered", "< read", 3],
    "from_me": [True, "any"],
    "expr": ["len(text) > 3", "'o' in text"],
}
TRIGGERS = {kind: st.sampled_from(values) for kind, values in VALUES.items()}


@st.composite
def rules_yaml(draw: st.DrawFn) -> str:
    rules = []
    for i in range(draw(st.integers(1, 12))):
        kinds = draw(st.lists(st.sampled_from(sorted(TRIGGERS)), max_size=2, unique=True))
        rule: dict[str, Any] = {
            "name": f"r{i}",
            "on": draw(
                st.sampled_from(
                    ["message", "message.reaction", "message.ack", "group.v2.participants", "message*", "*"]
                )
            ),
            "if": {kind: draw(TRIGGERS[kind]) for kind in kinds},
            "do": [{"reply": "ok"}],
        }
        if draw(st.integers(0, 5)) == 0:
            rule["stop"] = True
        rules.append(rule)
    return json.dumps({"rules": rules}, ensure_ascii=False)  # JSON is YAML


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["message", "message.reaction", "message.ack", "group.v2.participants"]))
    sender = draw(st.sampled_from(PEOPLE))
    return make_event(
        kind,
        text=draw(st.sampled_from(TEXTS)),
        sender=sender,
        chat=draw(st.sampled_from([None, GROUP])),
        session=draw(st.sampled_from(["default", "other"])),
        from_me=draw(st.sampled_from([False, False, False, True])),
        emoji=draw(st.sampled_from(["❤️", "👍🏽", "🎉", ""])),
        ack=draw(st.sampled_from([-1, 1, 2, 3, 4])),
        group_action=draw(st.sampled_from(["join", "leave", "promote"])),
        participants=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique=True)),
    )


def load(text: str) -> RuleSet:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "lists").mkdir()
        (folder / "lists" / "vip.txt").write_text(f"{PEOPLE[0]}\n{GROUP}\n")
        (folder / "lists" / "words.txt").write_text("cost\norder\n")
        (folder / "rules.yaml").write_text(text)
        return RuleSet.load([folder])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules_yaml(), st.lists(events(), min_size=1, max_size=4))
async def test_the_index_fires_exactly_what_trying_every_rule_fires(
    text: str, envelopes: list[dict[str, Any]]
) -> None:
    rules = load(text)
    for envelope in envelopes:
        event = view(envelope)
        indexed = await evaluate(rules, event, now=NOW)
        every = await evaluate(rules, event, now=NOW, explain=True)
        assert [(r.rule, r.variables) for r in indexed.matches] == [
            (r.rule, r.variables) for r in every.matches
        ]
        # every candidate is accounted for: in the trace, or counted
        assert len(indexed.trace) + indexed.not_shown == len(every.trace) == len(rules.candidates(event.type))


def every_event() -> list[EventView]:
    """Events that between them hold each value the triggers above look for."""
    found = [make_event(text=text, sender=sender) for text in TEXTS for sender in PEOPLE[:2]]
    found += [make_event(text=text, sender=PEOPLE[2], chat=GROUP, session="other") for text in TEXTS[:4]]
    found += [make_event("message.reaction", emoji=e) for e in ("❤️", "👍🏽", "🎉", "")]
    found += [make_event("message.ack", ack=level, from_me=True) for level in (-1, 1, 2, 3, 4)]
    found += [
        make_event("group.v2.participants", chat=GROUP, group_action=action, participants=people)
        for action in ("join", "leave", "promote")
        for people in ([PEOPLE[0]], PEOPLE[1:])
    ]
    lid_forms = [sample("waha-schema/message-lid-alt"), sample("waha-schema/group.v2.participants-join")]
    assert lid_forms[0].sender and lid_forms[0].sender.forms == tuple(LID_SENDER)
    return [view(envelope) for envelope in found] + lid_forms


async def test_each_trigger_value_alone_fires_the_same_through_the_index() -> None:
    """Every value of every trigger above, as its own rule, against events that hold them all."""
    rules = [
        {"name": f"{kind}-{n}", "on": "*", "if": {kind: value, "from_me": "any"}, "do": [{"reply": "ok"}]}
        for kind, values in VALUES.items()
        for n, value in enumerate(values)
    ]
    ruleset = load(json.dumps({"rules": rules}, ensure_ascii=False))
    fired = 0
    for event in every_event():
        indexed = await evaluate(ruleset, event, now=NOW)
        every = await evaluate(ruleset, event, now=NOW, explain=True)
        assert [r.rule for r in indexed.matches] == [r.rule for r in every.matches], event
        fired += len(indexed.matches)
    assert fired > 100  # the events do reach the rules: the comparison is not of empty lists


async def test_only_the_rules_that_can_fire_are_visited(tmp_path: Path) -> None:
    lines = ["rules:"]
    for i in range(2000):
        trigger = [f"{{contains: word{i}}}", f"{{equals: 'exactly {i}'}}", f"{{sender: '4477{i:08d}@c.us'}}"][
            i % 3
        ]
        lines.append(f"  - {{name: r{i}, if: {trigger}, do: [{{reply: x}}]}}")
    lines.append("  - {name: catch-all, do: [{reply: x}]}")
    (tmp_path / "rules.yaml").write_text("\n".join(lines) + "\n")
    rules = RuleSet.load([tmp_path])
    event = view(make_event(text="Word30 and WORD300", sender="447700000011@c.us"))
    result = await evaluate(rules, event)
    assert [r.rule for r in result.matches] == ["r11", "r30", "r300", "catch-all"]
    assert len(result.trace) + result.not_shown == 2001
    # visited: the rules whose word occurs (r3: "word3" inside "word30", not a whole word), the
    # sender's rule, and the rule without triggers; the other 1,996 cost nothing
    visited = RuleIndex(rules.candidates("message")).find(event).rules
    assert [r.name for r in visited] == ["r3", "r11", "r30", "r300", "catch-all"]
