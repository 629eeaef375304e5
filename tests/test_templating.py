"""templating.py on its own: what renders, what fails in plain words, and the work budget.

The budget tests name the limit each heavy template hits; none measures time (the limits are
checked before the work, so the answer does not depend on the machine).
"""

from __future__ import annotations

import re
import tracemalloc

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


LONG = "{% set s = 'x' * 999999 %}"  # a text just under the limit, built in the template


@pytest.mark.parametrize(
    ("template", "limit"),
    [
        (LONG + "{{ ('%s' * 30 % ((s,) * 30))|length }}", "formatting text would make 30,000,030"),
        (LONG + "{{ ('{0}' * 30).format(s)|length }}", "formatting text would make 30,000,060"),
        (LONG + "{{ ('%s' * 30)|format(*((s,) * 30))|length }}", "formatting text would make 30,000,030"),
        (LONG + "{{ (('%s' * 30).encode() % ((s.encode(),) * 30))|length }}", "formatting text would make"),
        ("{{ ('\t' * 30).expandtabs(999999)|length }}", "expanding text would make 30,000,000"),
        ("{{ ('x'.encode() * 30000000)|length }}", "repeating text would make 30,000,000"),
        ("{{ (1).to_bytes(30000000, 'big')|length }}", "a length of 30,000,000"),
        ("{{ ('x' * 30).translate({120: 'y' * 999999})|length }}", "translating text would make 29,999,970"),
        # a macro's output, a {% set %} block and a {% filter %} block are joined before any check
        (
            LONG + "{% macro m() %}{% for i in range(30) %}{{ s }}{% endfor %}{% endmacro %}{{ m()|length }}",
            "building text would make 29,999,970",
        ),
        (LONG + "{% set b %}{% for i in range(30) %}{{ s }}{% endfor %}{% endset %}{{ b }}", "29,999,970"),
        (LONG + "{% filter length %}{% for i in range(30) %}{{ s }}{% endfor %}{% endfilter %}", "9,999,970"),
    ],
)
def test_long_text_is_refused_before_it_is_built(template: str, limit: str) -> None:
    # 30 MB here; 3,000 instead of 30 made 3 GB in one call, before the size was looked at
    tracemalloc.start()
    try:
        with pytest.raises(BudgetExceededError, match=re.escape(limit)):
            render_text(template, VARS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak >> 20} MiB allocated: the text was built before it was refused"


# Lists holding the list before them twice: 23 short lines, 8 million 'x' when written out (each
# level doubles it; forty levels would take hours to print, compare or hash, in one C call).
DOUBLED = "{% set l0 = ['x'] %}" + "".join(f"{{% set l{i} = [l{i - 1}, l{i - 1}] %}}" for i in range(1, 23))
TWIN = DOUBLED.replace("l", "k")  # the same shape built again: equal, but not the same lists
TUPLES = DOUBLED.replace("[", "(").replace("]", ")").replace("('x')", "('x',)")


AS_TEXT = "characters as text"


@pytest.mark.parametrize(
    ("what", "template", "limit"),
    [
        ("shown", DOUBLED + "{{ l22 }}", AS_TEXT),
        ("in a URL", DOUBLED + "{{ l22 }}", AS_TEXT),
        ("joined with ~", DOUBLED + "{{ 'a' ~ l22 }}", AS_TEXT),
        ("compared", DOUBLED + TWIN + "{{ l22 == k22 }}", AS_TEXT),
        ("looked for", DOUBLED + TWIN + "{{ l22 in [k22] }}", AS_TEXT),
        ("hashed as a key", TUPLES + "{{ {l22: 1}|length }}", AS_TEXT),
        ("hashed to look up", TUPLES + "{{ {}.get(l22) }}", AS_TEXT),
        ("subscripted", TUPLES + "{{ {'a': 1}[l22] }}", AS_TEXT),
        ("made text by a filter", DOUBLED + "{{ l22|string|length }}", AS_TEXT),
        ("made JSON", DOUBLED + "{{ l22|tojson|length }}", AS_TEXT),
        ("sorted", DOUBLED + TWIN + "{{ [l22, k22]|sort|length }}", AS_TEXT),
        ("tested", DOUBLED + TWIN + "{{ l22 is eq(k22) }}", AS_TEXT),
        ("counted by a method", DOUBLED + TWIN + "{{ [l22, l22].count(k22) }}", AS_TEXT),
        ("in a namespace", DOUBLED + "{% set ns = namespace(v=l22) %}{{ ns }}", AS_TEXT),
        # weighed by the size checks these already had, instead of written out to be measured
        ("formatted", DOUBLED + "{{ ('%s' % (l22,))|length }}", "formatting text would make 4,456,440"),
        ("joined", DOUBLED + "{{ [l22]|join|length }}", "joining text would make 4,456,438"),
    ],
)
def test_values_that_double_at_every_level_are_weighed_before_use(
    what: str, template: str, limit: str
) -> None:
    with pytest.raises(BudgetExceededError, match=re.escape(limit)):
        render_text(template, VARS, url=what == "in a URL")


def test_sum_of_lists_counts_its_steps() -> None:
    # Python's sum() of lists copies the growing list at every item: 90,000 one-item lists were
    # four billion copies in one call
    with pytest.raises(BudgetExceededError):
        render_text("{{ ([[0]] * 90000)|sum(start=[])|length }}", VARS)
    assert render_text("{{ [[1], [2]]|sum(start=[]) }} {{ [1, 2]|sum }}", VARS) == "[1, 2] 3"


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
