"""templating.py on its own: what renders, what fails in plain words, and the work budget.

The budget tests name the limit each heavy template hits; none measures time (the limits are
checked before the work, so the answer does not depend on the machine).
"""

from __future__ import annotations

import re

import pytest

from botengine import budget
from botengine.errors import BudgetExceededError, TemplateError
from botengine.templating import compile_template, names_used, render, render_text, static_problems

VARS = {"text": "{{ 7*7 }}", "sender": {"name": "Alice", "number": "4474"}, "items": [1, 2, 3], "none": None}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain text", "plain text"),
        ("Hi {{ sender.name }}!", "Hi Alice!"),
        ("{{ text }}", "{{ 7*7 }}"),  # event data is data: never evaluated
        ("{{ none }}", ""),  # a value that is none renders as nothing
        ("{% for i in items %}{{ i }},{% endfor %}", "1,2,3,"),
        ("{{ 'a' ~ sender.number }}", "a4474"),
        ("{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ '%05d' % 42 }} {{ '{:>4}'.format(7) }}", "1024 ababab 00042    7"),
        ("{{ 'x'|center(5) }}|{{ 'a b'|replace(' ', '-') }}|{{ items|join('+') }}", "  x  |a-b|1+2+3"),
        ("{{ items|map('string')|join(',') }} {{ 3.14159|round(2) }}", "1,2,3 3.14"),
    ],
)
def test_renders(template: str, expected: str) -> None:
    assert render_text(template, VARS) == expected


def test_render_walks_lists_and_mappings() -> None:
    value = {"to": "{{ sender.number }}", "lines": ["{{ sender.name }}", 3]}
    assert render(value, VARS) == {"to": "4474", "lines": ["Alice", 3]}


def test_mistakes_are_template_errors_in_plain_words() -> None:
    with pytest.raises(TemplateError, match="unknown variable in template: 'sendr' is undefined"):
        render_text("{{ sendr.name }}", VARS)
    with pytest.raises(TemplateError, match="template syntax error"):
        compile_template("{{ unclosed")
    with pytest.raises(TemplateError, match="'lipsum' is undefined"):
        render_text("{{ lipsum(10**6) }}", VARS)  # lorem ipsum of any size is gone


@pytest.mark.parametrize(
    ("template", "limit"),
    [
        # the cases
        (
            "{% for i in range(20000) %}{% for j in range(20000) %}{% endfor %}{% endfor %}",
            "100,000 loop steps",
        ),
        ("{{ 10**(10**7) }}", "10 ** 10000000 would have about 10,000,000 digits"),
        ("{{ 'a'*10**9 }}", "repeating text would make 1,000,000,000 characters"),
        ('{{ "{:>100000000}".format(1) }}', "a format width of 100,000,000"),
        # the same, by other roads
        ("{{ 'a'|center(10**9) }}", "a width of 1,000,000,000"),
        ("{{ 'x'.ljust(10**9) }}", "a width of 1,000,000,000"),
        ("{{ 'x'.zfill(10**9) }}", "a width of 1,000,000,000"),
        ("{{ '%100000000d' % 1 }}", "a format width of 100,000,000"),
        ("{{ '%*d'|format(10**8, 1) }}", "a format width of 100,000,000"),
        ('{{ "{:{w}}".format(1, w=10**9) }}', "a format width of 1,000,000,000"),
        ("{{ 'a'|indent(10**8) }}", "a width of 100,000,000"),
        ("{{ 'a'|replace('', 'b'*999999) }}", "replacing text would make"),
        ("{{ (['x'*999999]*90000)|join }}", "joining text would make 89,999,910,000 characters"),
        ("{{ ''.join(['x'*1000]*999) ~ ''.join(['y'*1000]*999) }}", "joining text would make 1,998,000"),
        ("{{ [1]|slice(10**9)|list }}", "splitting into parts would make 1,000,000,000 items"),
        ("{{ (range(100000)|list) * 20 }}", "repeating would make 2,000,000 items"),
        ("{{ (10**4000) * (10**4000) }}", "a product with about 8,000 digits"),
        ("{{ 10**3000|round(-10**9) }}", "rounding to -1,000,000,000 digits"),
        # doubling a string 40 times: each step looks small
        (
            "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "joining text would make 1,048,576 characters",
        ),
        ("{% macro m(s) %}{{ m(s ~ s) }}{% endmacro %}{{ m('a') }}", "joining text would make 1,048,576"),
    ],
)
def test_heavy_templates_stop_at_their_limit(template: str, limit: str) -> None:
    with pytest.raises(BudgetExceededError, match=re.escape(limit)):
        render_text(template, VARS)


def test_the_rendered_text_has_a_size_limit() -> None:
    half = "x" * (budget.MAX_TEXT // 2 + 1)
    with pytest.raises(BudgetExceededError, match="the rendered text would make 1,000,002 characters"):
        render_text("{{ half }}{{ half }}", {"half": half})


def test_nothing_runs_while_a_template_compiles() -> None:
    # Jinja's constant folding used to compute this while the rules loaded (19 s, then a crash)
    assert names_used("{{ 10**(10**7) }}") == set()
    template = compile_template("{{ 10**(10**7) }} {{ 'a'|center(10**9) }}")
    with pytest.raises(BudgetExceededError):  # the work happens only when it renders, in budget
        template.render({})


def test_cpu_time_is_the_backstop() -> None:
    spent = budget.Budget("the template", seconds=-1.0)  # any work at all is over this budget
    with pytest.raises(BudgetExceededError, match="the template took more than -1 s of work"):
        spent.tick(64)  # the 64th step looks at the clock
    assert spent.steps == 64  # it looked at the clock within the first few steps


def test_one_budget_for_all_the_strings_of_one_action() -> None:
    steps = "{% for i in range(60000) %}{% endfor %}"
    assert render_text(steps, {}) == ""  # 60,000 steps fit in one template…
    with pytest.raises(BudgetExceededError, match="100,000 loop steps"):
        render({"a": steps, "b": steps}, {})  # …not twice in one action's parameters


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ 10**(10**7) }}", "10 ** 10000000 would have about 10,000,000 digits"),
        ("{{ 'a' * 10**9 }}", "repeating text would make 1,000,000,000 characters"),
        ("{{ name|center(10**9) }}", None),  # the value is not constant, the width is: still caught
        ("{% for i in range(1000) %}{% for j in range(1000) %}.{% endfor %}{% endfor %}", "1,000,000 steps"),
    ],
)
def test_check_sees_what_can_never_fit(template: str, problem: str | None) -> None:
    found = static_problems(template)
    if problem is None:
        assert found == [] or "width" in found[0]
    else:
        assert len(found) == 1 and problem in found[0]


def test_check_is_quiet_about_ordinary_templates() -> None:
    for template in (
        "Hi {{ sender.name }}",
        "{% for i in range(10) %}{{ i * 2 }}{% endfor %}",
        "{{ 2**64 }}",
    ):
        assert static_problems(template) == []
