"""One event's rule evaluation has a budget, names the rule that went over it, and shares the loop.

`check` warns about the templates and expressions it can tell will never fit, with file:line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from botengine import budget
from botengine.errors import BudgetExceededError
from botengine.rules import RuleSet
from botengine.rules.loader import load
from botengine.testing import make_event
from tests.rules_helpers import evaluate, ruleset, view, write_rules


async def test_an_expression_over_budget_stops_the_event_naming_the_rule(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - {name: fine, if: {equals: hi}, do: [{reply: hello}]}
          - name: heavy
            if: {expr: "text == 'go' and 10**4000000 > 1"}
            do: [{reply: x}]
        """,
    )
    assert (await evaluate(rules, view(make_event(text="hi")))).matches[0].rule == "fine"
    with pytest.raises(BudgetExceededError) as caught:
        await evaluate(rules, view(make_event(text="go")))
    assert str(caught.value) == (
        "10 ** 4000000 would have about 4,000,000 digits (the limit is 4,300), in the expression "
        f"\"text == 'go' and 10**4000000 > 1\" (rule 'heavy', {tmp_path}/rules.yaml:4)"
    )


async def test_the_triggers_of_one_event_have_a_total_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = ruleset(tmp_path, "rules:\n  - {name: a, if: {equals: x}, do: [{reply: a}]}\n")
    monkeypatch.setattr(budget, "EVENT_SECONDS", -1.0)  # any evaluation at all is over it
    with pytest.raises(BudgetExceededError, match=r"^the triggers took more than -1 s .* \(rule 'a', "):
        await evaluate(rules, view(make_event(text="x")))  # the rule is visited: its trigger runs


async def test_a_long_evaluation_lets_other_tasks_run(tmp_path: Path) -> None:
    expr = "len(text) > {i} and contains(text, 'zz{i}')"
    lines = ["rules:"] + [
        f'  - {{name: r{i}, if: {{expr: "{expr.format(i=i)}"}}, do: [{{reply: x}}]}}' for i in range(3000)
    ]
    write_rules(tmp_path, "\n".join(lines) + "\n")
    rules = RuleSet.load([tmp_path])
    turns = 0
    done = asyncio.Event()

    async def other_task() -> None:  # /healthz, the webhook: anything else on the loop
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    started = turns
    result = await evaluate(rules, view(make_event(text="a message that no rule wants")))
    during = turns - started
    done.set()
    await other
    assert result.matches == [] and len(result.trace) + result.not_shown == 3000
    assert during > 1  # 3,000 expressions take far longer than one 5 ms turn


def test_check_warns_about_work_that_can_never_fit(tmp_path: Path) -> None:
    write_rules(
        tmp_path,
        """
        rules:
          - name: power
            do:
              - reply: "{{ 10**(10**7) }}"
          - name: loops
            do:
              - reply: "{% for i in range(1000) %}{% for j in range(1000) %}.{% endfor %}{% endfor %}"
          - name: expr
            if: {expr: "10**4000000 > 1"}
            do: [{reply: x}]
          - name: fine
            do: [{reply: "{{ 2**10 }}"}]
        """,
    )
    warnings = [str(p) for p in load([tmp_path]).warnings]
    where = f"{tmp_path}/rules.yaml"
    assert warnings == [
        f"{where}:5:16: warning: rule 'power': reply: the template cannot run within its limits: "
        "10 ** 10000000 would have about 10,000,000 digits (the limit is 4,300) (every event that "
        "reaches it would go to the dead-letter queue (docs/rules.md, Limits))",
        f"{where}:8:16: warning: rule 'loops': reply: the template cannot run within its limits: its "
        "loops run 1,000,000 steps (nested loops multiply; the limit is 100,000) (every event that "
        "reaches it would go to the dead-letter queue (docs/rules.md, Limits))",
        f"{where}:10:16: warning: rule 'expr': expr: it cannot run within its limits: 10 ** 4000000 "
        "would have about 4,000,000 digits (the limit is 4,300) (every event that reaches it would go "
        "to the dead-letter queue (docs/rules.md, Limits))",
    ]


@pytest.mark.parametrize("backtracking", [False, True])
def test_a_regex_whose_repeats_multiply_is_refused_before_it_is_compiled(
    tmp_path: Path, backtracking: bool
) -> None:
    # RE2 refuses the count, and the backtracking engine compiled the pattern written out (whether
    # the rule opted in or not): a million pieces took 0.3 s, nested once more it never finished
    write_rules(
        tmp_path,
        f"""
        rules:
          - name: repeats
            if: {{text: {{pattern: '(?:a{{1000}}){{1000}}', backtracking: {str(backtracking).lower()}}}}}
            do: [{{reply: x}}]
        """,
    )
    [problem] = load([tmp_path]).errors
    assert "repeats multiply to about 1,000,000 pieces (the limit is 100,000)" in problem.message, problem
