"""State you can use: `state.NAME` in templates and expressions, `set` with the person's answer."""

from __future__ import annotations

from pathlib import Path

from botengine.rules.loader import load
from botengine.sample_events import DEFAULT_SENDER
from botengine.state import state_key
from botengine.storage import Storage
from botengine.storage.memory import MemoryStorage
from botengine.testing import FakeWawp, make_event
from botengine.types import JSON
from tests.actions.conftest import EngineFactory
from tests.rules_helpers import evaluate, ruleset, view, write_rules

FORM = """
rules:
  - name: ask-name
    if: {equals: hello, state: {step: null}}
    do:
      - reply: "What is your name?"
      - set: {var: step, value: name}
  - name: got-name
    if: {state: {step: name}}
    do:
      - set: {var: name, value: "{{ text | trim }}"}
      - set: {var: step, value: done}
      - reply: "Nice to meet you, {{ state.name }}! (step {{ state.step }})"
  - name: again
    if: {equals: hello, expr: "state.step == 'done' and len(state.name) > 2"}
    do:
      - reply: "Welcome back {{ state.name }}"
"""


def test_a_set_answer_is_read_back_by_templates_and_expressions(
    engine: EngineFactory, fake: FakeWawp
) -> None:
    with engine(FORM) as bot:
        for n, text in enumerate(["hello", "  Alice ", "hello"], 1):
            bot.post(make_event(text=text))
            bot.wait_processed(n)
        stored = bot.get(state_key("default", "chat", DEFAULT_SENDER, "name"))
    said = [c.json["message"] for c in fake.calls_to("/v2/send/text")]
    assert said == ["What is your name?", "Nice to meet you, Alice! (step done)", "Welcome back Alice"]
    assert stored == "Alice"


class CountingStorage(MemoryStorage):
    """Memory storage that remembers which keys were read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def get(self, key: str) -> JSON | None:
        self.reads.append(key)
        return await super().get(key)


async def test_only_the_state_names_a_rule_uses_are_read(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: show
            if: {equals: show}
            do: [{reply: "{{ state.order }} / {{ sender_state['address'] }}"}]
          - name: never
            if: {equals: nothing}
            do: [{reply: "{{ state.other }}"}]
        """,
    )
    storage = CountingStorage()
    await storage.put(state_key("default", "chat", DEFAULT_SENDER, "order"), "10423")
    await storage.put(state_key("default", "chat", DEFAULT_SENDER, "unrelated"), "x")
    evaluation = await evaluate(rules, view(make_event(text="show")), storage)
    [run] = evaluation.matches
    assert run.variables["state"] == {"order": "10423"}
    assert run.variables["sender_state"] == {"address": None}
    state_reads = sorted(k.split("\x1f")[-1] for k in storage.reads if k.startswith("state:"))
    assert state_reads == ["address", "order"]  # not `other` (its rule did not fire), not `unrelated`


async def test_an_expression_reading_state_is_false_when_unset(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: vip
            if: {expr: "state.tier == 'gold'"}
            do: [{reply: "Gold service"}]
        """,
    )
    storage: Storage = MemoryStorage()
    assert (await evaluate(rules, view(make_event(text="hi")), storage)).matches == []
    await storage.put(state_key("default", "chat", DEFAULT_SENDER, "tier"), "gold")
    assert [r.rule for r in (await evaluate(rules, view(make_event(text="hi")), storage)).matches] == ["vip"]


def test_check_refuses_state_read_as_a_whole(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        rules:
          - name: dump
            do: [{reply: "{{ state }}"}]
          - name: loop
            if: {expr: "len(sender_state) > 0"}
            do: [{reply: "x"}]
        """,
    )
    problems = [str(p) for p in load([path]).errors]
    assert len(problems) == 2, problems
    assert f"{path}:4:" in problems[0] and "state is read as a whole" in problems[0]
    assert f"{path}:6:" in problems[1] and "sender_state is read as a whole" in problems[1]
