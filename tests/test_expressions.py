"""expressions.py on its own: what evaluates, what fails in plain words, and the work budget."""

from __future__ import annotations

import re

import pytest

from botengine.errors import BudgetExceededError, ExpressionError
from botengine.expressions import compile_expression, static_problems, unknown_functions

VARS = {"text": "Refund please", "sender": {"name": "Alice", "number": "447441"}, "ack": "3", "items": [1, 2]}


def evaluate(source: str) -> object:
    return compile_expression(source).evaluate(VARS)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("len(text) < 200", True),
        ("contains(text, 'REFUND') and startswith(sender.number, '44')", True),
        ("int(ack) >= 3", True),
        ("sender.missing is None", True),  # a field the data does not have is None
        ("2 ** 10 + 3 * 4 - 10 % 3", 1035),
        ("'ab' * 3", "ababab"),
        ("round(3.14159, 2)", 3.14),
        ("[i * 2 for i in items]", [2, 4]),
        ("f'{len(text):>5}'", "   13"),
    ],
)
def test_evaluates(source: str, expected: object) -> None:
    assert evaluate(source) == expected


def test_mistakes_are_expression_errors_in_plain_words() -> None:
    with pytest.raises(ExpressionError, match="unknown variable 'sendr'"):
        evaluate("sendr.name")
    with pytest.raises(ExpressionError, match="method call"):
        evaluate("text.upper()")
    with pytest.raises(ExpressionError, match="syntax error"):
        compile_expression("len(text")
    assert unknown_functions(compile_expression("shout(text)")) == {"shout"}


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        ("10**4000000 > 1", "10 ** 4000000 would have about 4,000,000 digits"),  # the case
        ("4000000 ** 4000000", "would have about 26,408,240 digits"),  # simpleeval's own limit let it by
        ("'a' * 10**9", "repeating text would make 1,000,000,000 characters"),
        ("len(text * 10**8)", "repeating text would make 1,300,000,000 characters"),
        ("(10**4000) * (10**4000)", "a product with about 8,000 digits"),
        ("'%0100000000d' % 1", "a format width of 100,000,000"),
        ("f'{1:>100000000}'", "a format width of 100,000,000"),
        ("round(10**3000, -10**9)", "rounding to -1,000,000,000 digits"),
        ("[a for a in text for b in text for c in text for d in text]", "Comprehension generates too many"),
        # each level holds the one before twice: 8 million 'x' as text, from 22 levels
        ("len(str(" + "[" * 22 + "'x'" + "] * 2" * 22 + "))", "characters as text"),
        ("[" * 22 + "'x'" + "] * 2" * 22 + " == " + "[" * 22 + "'x'" + "] * 2" * 22, "characters as text"),
        ('len(f"' + "{'y' * 99999}" * 20 + '")', "joining text would make 1,099,989"),
        ("len('%(a)s' * 30 % {'a': 'x' * 999999})", "formatting text would make"),
    ],
)
def test_heavy_expressions_stop_at_their_limit(source: str, limit: str) -> None:
    with pytest.raises(BudgetExceededError, match=re.escape(limit)) as caught:
        evaluate(source)
    assert str(caught.value).endswith(f", in the expression {source!r}")  # says which expression


def test_check_sees_a_constant_that_can_never_be_computed() -> None:
    assert static_problems(compile_expression("text == 'x' and 10**4000000 > 1")) == [
        "10 ** 4000000 would have about 4,000,000 digits (the limit is 4,300)"
    ]
    assert static_problems(compile_expression("len(text) < 2**20 and int(ack) * 3 > 5")) == []
