"""`check`: every kind of mistake, reported at its exact line and column with a hint."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from botengine.errors import RulesError
from botengine.rules import RuleSet
from botengine.rules.loader import load


def problems(tmp_path: Path, text: str, *, warnings: bool = False) -> list[str]:
    (tmp_path / "r.yaml").write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    loaded = load([tmp_path])
    chosen = loaded.problems if warnings else loaded.errors
    return [str(p).replace(f"{tmp_path}/", "") for p in chosen]


def rule(body: str) -> str:
    return "rules:\n  - name: greet\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "if: {chat: contact}\ndo:\n  - replly: hi\n",
            "r.yaml:5:9: rule 'greet': unknown action 'replly' (did you mean 'reply'?)",
        ),
        (
            "if:\n  chatt: contact\ndo: [{reply: hi}]\n",
            "r.yaml:4:7: rule 'greet': unknown trigger 'chatt' (did you mean 'chat'?)",
        ),
        (
            "iff: {}\ndo: [{reply: hi}]\n",
            "r.yaml:3:5: rule 'greet': unknown key 'iff' (did you mean 'if'?)",
        ),
        (
            "if:\n  text: '(unclosed'\ndo: [{reply: hi}]\n",
            "r.yaml:4:13: rule 'greet': text: the regex does not compile: missing ), unterminated subpattern "
            "at position 0 (check brackets and escape special characters with \\)",
        ),
        (
            "do:\n  - reply: 'Hi {{ sendr.name }}'\n",
            "r.yaml:4:16: rule 'greet': reply: unknown variable 'sendr' (did you mean 'sender'?)",
        ),
        (
            "do:\n  - reply: 'Hi {{ sender.name '\n",
            "r.yaml:4:16: rule 'greet': reply: template syntax error: unexpected end of template, expected "
            "'end of print statement'. (templates look like {{ sender.name }})",
        ),
        (
            "if:\n  expr: 'len(text) <'\ndo: [{reply: hi}]\n",
            "r.yaml:4:13: rule 'greet': expr: expression syntax error: invalid syntax "
            "(expressions are written like Python: len(text) < 200 and chat.kind == 'group')",
        ),
        (
            "if:\n  expr: len(txt) < 5\ndo: [{reply: hi}]\n",
            "r.yaml:4:13: rule 'greet': expr: unknown variable 'txt' (did you mean 'text'?)",
        ),
        (
            "do:\n  - reply: {text: hi, quot: true}\n",
            "r.yaml:4:27: rule 'greet': reply: unknown parameter 'quot' (did you mean 'quote'?)",
        ),
        (
            "if:\n  chat: contacts\ndo: [{reply: hi}]\n",
            "r.yaml:4:13: rule 'greet': chat: input should be 'contact', 'group', 'channel', 'lid', "
            "'broadcast', 'status' or 'unknown' (for example chat: contact)",
        ),
        (
            "if:\n  sender: '447441429009'\ndo: [{reply: hi}]\n",
            "r.yaml:4:15: rule 'greet': sender: sender '447441429009' is not a full JID (write "
            "447441429009@c.us for a contact or 447441429009@g.us for a group; a contact and a group can "
            "share digits)",
        ),
        (
            "if:\n  sender: {in: vips}\ndo: [{reply: hi}]\n",
            "r.yaml:4:15: rule 'greet': sender: no list named 'vips' "
            "(put it in lists/vips.txt, or add to it with add_to: vips) "
            "(lists found: none)",
        ),
        (
            "if:\n  ack: '>= deliverd'\ndo: [{reply: hi}]\n",
            "r.yaml:4:12: rule 'greet': ack: 'deliverd' is not an ack level (did you mean 'delivered'?)",
        ),
        (
            "if:\n  hours: {days: mon-fry, from: '09:00', to: '18:00'}\ndo: [{reply: hi}]\n",
            "r.yaml:4:14: rule 'greet': hours: 'mon-fry' is not a day or range of days (write days like "
            "mon-fri, sat,sun or daily)",
        ),
        (
            "cooldown: 10 minutes\ndo: [{reply: hi}]\n",
            "r.yaml:3:15: rule 'greet': cooldown: '10 minutes' is not a duration; write it "
            "like 30s, 10m, 2h, 1h30m or 7d",
        ),
        (
            "do:\n  - reply: hi\n    as: text\n",
            "r.yaml:5:13: rule 'greet': as: 'text' cannot name a result (use a new word of letters, digits "
            "and _ (not a variable like text or sender))",
        ),
        (
            "do:\n  - reply: hi\n    timeout: soon\n",
            "r.yaml:5:18: rule 'greet': timeout: 'soon' is not a duration; write it like 30s, 10m, 2h, "
            "1h30m or 7d",
        ),
    ],
)
def test_each_mistake_at_its_place(tmp_path: Path, body: str, expected: str) -> None:
    assert problems(tmp_path, rule(body)) == [expected]


def test_duplicate_yaml_keys(tmp_path: Path) -> None:
    text = """
    rules:
      - name: a
        do: [{reply: one}]
        do: [{reply: two}]
    """
    assert problems(tmp_path, text) == [
        "r.yaml:4:5: 'do' appears twice in the same place (first on line 3) (keep one of them: YAML "
        "would silently use the later one)"
    ]


def test_duplicate_rule_names_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("rules:\n  - name: greet\n    do: [{reply: a}]\n")
    (tmp_path / "b.yaml").write_text("\nrules:\n  - name: greet\n    do: [{reply: b}]\n")
    errors = [str(p).replace(f"{tmp_path}/", "") for p in load([tmp_path]).errors]
    assert errors == [
        "b.yaml:3:11: rule 'greet': the name is already used (first at a.yaml:2; names must be unique "
        "across all files)"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    # every kind of syntax error has its own test in test_rules_yaml_errors.py
    [found] = problems(tmp_path, "rules:\n  - name: a\n   do: x\n")
    assert found == (
        "r.yaml:3:4: this line is not lined up with the lines above it (indent it with as many spaces "
        "as the other keys at its level: name, if and do line up)"
    )


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert problems(tmp_path, "rule:\n  - name: a\n") == [
        "r.yaml:1:1: unknown key 'rule' (did you mean 'rules'?)"
    ]


def test_action_as_names_are_known_to_later_actions_only(tmp_path: Path) -> None:
    ok = rule("do:\n  - reply: hi\n    as: first\n  - reply: '{{ first }}'\n")
    assert problems(tmp_path, ok) == []
    early = rule("do:\n  - reply: '{{ second }}'\n  - reply: hi\n    as: second\n")
    assert problems(tmp_path, early) == [
        "r.yaml:4:16: rule 'greet': reply: unknown variable 'second' (did you mean 'sender'?)"
    ]


def test_regex_groups_are_known_variables(tmp_path: Path) -> None:
    body = "if:\n  text: 'order (?P<number>\\d+)'\ndo: [{reply: 'Order {{ number }}'}]\n"
    assert problems(tmp_path, rule(body)) == []


def test_a_regex_the_safe_engine_cannot_run_is_refused_with_a_hint(tmp_path: Path) -> None:
    body = "if:\n  text: '^(a+)+(?=b)'\ndo: [{reply: hi}]\n"
    found = problems(tmp_path, rule(body))
    assert len(found) == 1
    assert found[0].startswith(
        "r.yaml:4:13: rule 'greet': text: the regex uses a lookahead (?=…), which the safe regex "
        "engine cannot run"
    )
    assert "backtracking: true" in found[0]  # the hint names the way to opt in


def test_backtracking_opt_in_loads_without_a_warning(tmp_path: Path) -> None:
    body = "if:\n  text: {pattern: '(a)\\1', backtracking: true}\ndo: [{reply: hi}]\n"
    assert problems(tmp_path, rule(body), warnings=True) == []


def test_backtracking_opt_in_that_is_not_needed_is_a_warning(tmp_path: Path) -> None:
    body = "if:\n  text: {pattern: 'order \\d+', backtracking: true}\ndo: [{reply: hi}]\n"
    found = problems(tmp_path, rule(body), warnings=True)
    assert found == [
        "r.yaml:4:13: warning: rule 'greet': text: backtracking: true is not needed: the safe engine "
        "runs this regex (remove backtracking: true)"
    ]


def test_a_set_with_any_error_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("rules:\n  - name: a\n    do: [{reply: a}]\n")
    (tmp_path / "bad.yaml").write_text("rules:\n  - name: b\n    do: [{replly: a}]\n")
    with pytest.raises(RulesError) as caught:
        RuleSet.load([tmp_path])
    assert len(caught.value.problems) == 1


def test_inline_test_mistakes(tmp_path: Path) -> None:
    text = """
    rules: []
    tests:
      - name: t
        event: {text: hi}
        expect: [{replly: hi}]
    """
    assert problems(tmp_path, text) == [
        "r.yaml:5:14: test 't': an expected action is one action word with its parameters "
        "(did you mean 'reply'?)"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "on: mesage\ndo: [{reply: hi}]\n",
            "r.yaml:3:9: warning: rule 'greet': 'mesage' is not an event type Wawp sends: the rule may "
            "never fire (did you mean 'message'?)",
        ),
        (
            "on: [message, 'mesage.*']\ndo: [{reply: hi}]\n",
            "r.yaml:3:19: warning: rule 'greet': no event type Wawp sends matches 'mesage.*' "
            "(did you mean 'message'?)",
        ),
        (
            "if:\n  ack: read\ndo: [{reply: hi}]\n",
            "r.yaml:4:12: warning: rule 'greet': ack: message events never carry a delivery level, so this "
            "rule can never fire (a delivery level comes with message.any, message.ack, message.ack.group: "
            "put the rule on: one of them)",
        ),
        (
            "on: message.reaction\nif:\n  text: hello\ndo: [{reply: hi}]\n",
            "",  # a reaction's event carries text (none, but the field is there): no warning
        ),
        (
            "on: session.status\ndo:\n  - reply: the session changed\n",
            "r.yaml:5:9: warning: rule 'greet': reply: session.status events have no chat for it to act on, "
            "so it fails every time (a chat comes with message, message.any, message.reaction, message.ack, "
            "…; send: {to: …} writes to a chat you name)",
        ),
        (
            "on: label.upsert\ndo:\n  - react: '👍'\n",
            "r.yaml:5:9: warning: rule 'greet': react: label.upsert events have no message for it to act "
            "on, so it fails every time (a message comes with message, message.any, message.reaction, "
            "message.ack, …)",
        ),
        (
            "on: group.v2.leave\ndo:\n  - remove: {}\n",
            "r.yaml:5:9: warning: rule 'greet': remove: on a leave event the people it is about have "
            "already left (remove people when they join (action: join), or name them with participants:)",
        ),
        (
            "on: group.v2.participants\nif:\n  action: leave\ndo:\n  - remove: {}\n",
            "r.yaml:7:9: warning: rule 'greet': remove: on a leave event the people it is about have "
            "already left (remove people when they join (action: join), or name them with participants:)",
        ),
        (
            "if:\n  expr: text.upper() == 'HI'\ndo: [{reply: hi}]\n",
            "r.yaml:4:13: warning: rule 'greet': expr: '.upper(…)' is a method call, which expressions "
            "cannot make: it fails every time (use a function instead, e.g. lower(text) rather than "
            "text.lower())",
        ),
    ],
)
def test_rules_that_can_never_fire_are_warned_about(tmp_path: Path, body: str, expected: str) -> None:
    assert problems(tmp_path, rule(body), warnings=True) == ([expected] if expected else [])


@pytest.mark.parametrize(
    "body",
    [
        "on: 'message.*'\nif: {ack: read}\ndo: [{reply: hi}]\n",  # message.ack is among them
        "on: custom.thing\nif: {ack: read}\ndo: [{send: {to: '1@c.us', text: hi}}]\n",  # unknown: not judged
        "on: session.status\ndo: [{remove: {group: '1@g.us', participants: ['2@c.us']}}]\n",  # its group
        "on: group.v2.leave\ndo: [{remove: {participants: ['2@c.us']}}]\n",  # names who
    ],
)
def test_rules_that_can_fire_are_not_warned_about(tmp_path: Path, body: str) -> None:
    found = problems(tmp_path, rule(body), warnings=True)
    assert [p for p in found if "custom.thing" not in p] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "do:\n  - reply: 'Hi {{ sender.nmae }}'\n",
            "r.yaml:4:16: rule 'greet': reply: sender has no field 'nmae' (did you mean 'name'?)",
        ),
        (
            "if:\n  expr: \"reaction['emoj'] == '👍'\"\ndo: [{reply: hi}]\n",
            "r.yaml:4:13: rule 'greet': expr: reaction has no field 'emoj' (did you mean 'emoji'?)",
        ),
    ],
)
def test_unknown_fields_of_named_variables_are_errors(tmp_path: Path, body: str, expected: str) -> None:
    assert problems(tmp_path, rule(body)) == [expected]


def test_a_regex_group_named_like_a_variable_is_not_judged_by_its_fields(tmp_path: Path) -> None:
    body = "if:\n  text: '(?P<media>x)'\ndo:\n  - reply: '{{ media.anything }}'\n"
    assert problems(tmp_path, rule(body)) == []


def test_warnings_alone_keep_check_green(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(rule("on: mesage\ndo: [{reply: hi}]\n"), encoding="utf-8")
    rules = RuleSet.load([tmp_path])  # loads: a warning is not an error
    assert [str(w).split(": ", 2)[1] for w in rules.warnings] == ["warning"]


def test_the_catalogue_knows_every_sample_event_type() -> None:
    from botengine.event_types import EVENT_TYPES
    from tests.conftest import SAMPLES

    seen = {json.loads(p.read_text()).get("event") for p in SAMPLES.rglob("*.json")}
    assert seen - set(EVENT_TYPES) == {None}  # None: Wawp's lifecycle body names no event


def test_payload_is_a_variable_and_the_fields_check_knows_every_record(tmp_path: Path) -> None:
    body = (
        "if:\n  expr: payload.isForwarded or payload['replyTo'] != None\n"
        "do:\n  - reply: '{{ payload.location.description }} {{ quoted.text }} {{ group.by }}'\n"
    )
    assert problems(tmp_path, rule(body), warnings=True) == []


def test_fields_are_the_keys_the_variables_have() -> None:
    from botengine.events import parse_envelope, view_of
    from botengine.rules.variables import FIELDS, variables_of
    from tests.conftest import SAMPLES

    seen: dict[str, set[str]] = {}
    for path in SAMPLES.rglob("*.json"):
        envelope = parse_envelope(path.read_bytes())
        assert not isinstance(envelope, list)
        for name, value in variables_of(view_of(envelope)).items():
            if name in FIELDS and isinstance(value, dict):
                seen.setdefault(name, set()).update(value)
    assert {name: set(fields) for name, fields in FIELDS.items()} == seen
