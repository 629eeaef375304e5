"""Evaluation: cooldown, paused, stop, dry runs without side effects, and event data as data."""

from __future__ import annotations

from pathlib import Path

from botengine.actions.render import render_params
from botengine.rules.engine import cooldown_key, paused_key
from botengine.storage import Storage
from botengine.testing import make_event
from tests.rules_helpers import ruleset, view

RULES = """
rules:
  - name: greet
    if: {text: '^hi'}
    do: [{reply: "Hello {{ sender.name or 'there' }}, you said: {{ text }}"}]
    cooldown: 10m
  - name: stopper
    if: {contains: stop}
    do: [{reply: stopped}]
    stop: true
  - name: after
    do: [{reply: after}]
"""


async def test_cooldown_is_per_chat_and_set_atomically(tmp_path: Path, storage: Storage) -> None:
    rules = ruleset(tmp_path, RULES)
    alice = view(make_event(text="hi"))
    assert [r.rule for r in (await rules.evaluate(alice, storage)).matches] == ["greet", "after"]
    again = await rules.evaluate(view(make_event(text="hi")), storage)
    assert [r.rule for r in again.matches] == ["after"]
    entry = next(e for e in again.trace if e.rule == "greet")
    assert entry.outcome == "cooldown"
    assert entry.reason is not None and entry.reason.startswith("in cooldown until ")
    other_chat = view(make_event(text="hi", sender="15550001111@c.us"))
    assert [r.rule for r in (await rules.evaluate(other_chat, storage)).matches] == ["greet", "after"]
    assert await storage.get(cooldown_key(alice.session, alice.chat.id, "greet")) is not None


async def test_dry_run_writes_nothing(tmp_path: Path, storage: Storage) -> None:
    rules = ruleset(tmp_path, RULES)
    event = view(make_event(text="hi"))
    for _ in range(2):
        assert [r.rule for r in (await rules.evaluate(event, storage, dry_run=True)).matches] == [
            "greet",
            "after",
        ]
    assert await storage.scan("cooldown:") == []


async def test_paused_rule_is_skipped(tmp_path: Path, storage: Storage) -> None:
    rules = ruleset(tmp_path, RULES)
    await storage.put(paused_key("greet"), True)
    result = await rules.evaluate(view(make_event(text="hi")), storage)
    assert [r.rule for r in result.matches] == ["after"]
    assert result.trace[0].outcome == "paused"


async def test_stop_skips_later_rules(tmp_path: Path, storage: Storage) -> None:
    rules = ruleset(tmp_path, RULES)
    result = await rules.evaluate(view(make_event(text="please stop")), storage)
    assert [r.rule for r in result.matches] == ["stopper"]
    assert result.trace[-1].outcome == "stopped"
    assert result.trace[-1].reason == "rule 'stopper' has stop: true"


async def test_event_text_is_only_data_in_templates(tmp_path: Path, storage: Storage) -> None:
    rules = ruleset(tmp_path, RULES)
    event = view(make_event(text="hi {{ 7*7 }} {% for x in range(3) %}x{% endfor %}", name="{{ 6*6 }}"))
    run = (await rules.evaluate(event, storage, dry_run=True)).matches[0]
    rendered = render_params(run.actions[0], run.variables)
    assert rendered.model_dump()["text"] == (
        "Hello {{ 6*6 }}, you said: hi {{ 7*7 }} {% for x in range(3) %}x{% endfor %}"
    )


async def test_variables_are_plain_data(tmp_path: Path, storage: Storage) -> None:
    rules = ruleset(tmp_path, RULES)
    alice = make_event(text="hi", name="Alice", sender="447441429009@c.us")
    run = (await rules.evaluate(view(alice), storage, dry_run=True)).matches[0]
    allowed = (str, int, float, bool, type(None), dict, list)

    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return isinstance(value, allowed)

    assert plain(dict(run.variables))
    assert run.variables["sender"] == {
        "id": "447441429009@c.us",
        "name": "Alice",
        "number": "447441429009",
        "kind": "contact",
        "phone": "447441429009@c.us",
        "lid": None,
    }


async def test_pathological_regex_does_not_stall(tmp_path: Path, storage: Storage) -> None:
    rules = ruleset(tmp_path, "rules:\n  - name: evil\n    if: {text: '(a+)+$'}\n    do: [{reply: x}]\n")
    # Python's backtracking engine would take longer than the universe has left on this text;
    # RE2 answers in linear time, so the per-test timeout is never near.
    result = await rules.evaluate(view(make_event(text="a" * 5000 + "!")), storage, dry_run=True)
    assert result.matches == []


async def test_nested_index_and_locations(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, "rules:\n  - name: a\n    do:\n      - reply: one\n      - react: '👍'\n")
    specs = rules.rules[0].actions
    assert [(s.kind, s.index, s.params) for s in specs] == [
        ("reply", "0", {"text": "one"}),
        ("react", "1", {"emoji": "👍"}),
    ]
    assert specs[1].location.endswith("rules.yaml:5")
