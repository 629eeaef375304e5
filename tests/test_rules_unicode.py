r"""Text triggers in every script: `\b \w \d \s` as Python's `re` means them, `contains:` whole words.

Each regex case is checked three ways: against Python's `re` on the same text (the meaning we
promise), through a real rule set with one rule (the pattern searched on its own), and with 30
rules on the event type (the RE2 Set path).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from botengine.rules import RuleSet
from botengine.rules.regex import compile_regex
from botengine.rules.regex_classes import MARK, SPACE
from botengine.rules.regex_rewrite import mark, rewrite
from botengine.testing import make_event
from tests.rules_helpers import evaluate, fired, ruleset, view, why_not

# (pattern, text, matches?) — the expected answers are written out, and Python's re agrees
CASES = [
    # Arabic: the docs' greeting rule written for Arabic
    (r"^\s*(مرحبا|السلام)\b", "مرحبا بك", True),
    (r"^\s*(مرحبا|السلام)\b", "السلام عليكم", True),
    (r"^\s*(مرحبا|السلام)\b", "مرحباتي", False),  # a longer word, not the greeting
    (r"\bشكرا\b", "شكرا جزيلا", True),
    (r"^\d+$", "٤٢", True),  # Arabic-Indic digits are digits
    # Cyrillic
    (r"\bпривет\b", "Привет, мир", True),
    (r"\bпривет\b", "приветствую", False),
    (r"^\w+$", "Здравствуйте", True),
    # CJK: ideographs are word characters, as in Python
    (r"\b价格\b", "价格", True),
    (r"\b价格\b", "这个价格多少", False),
    (r"价格", "这个价格多少", True),
    (r"^\w+$", "東京", True),
    # accented Latin, and case-insensitive matching
    (r"\bcafé\b", "Un CAFÉ, s'il vous plaît", True),
    (r"\bcafé\b", "cafés", False),
    (r"^\w+$", "naïve", True),
    (r"\bÉTÉ\b", "cet été", True),
    (r"straße", "STRASSE", False),  # no full case folding, in Python's re either
    # emoji next to words: an emoji is not a word character
    (r"\bparty\b", "party🎉", True),
    (r"🎉\w", "🎉party", True),
    (r"\w🎉", "party🎉", True),
    (r"^\W+$", "🎉🎉", True),
    # spaces beyond ASCII (no-break space, ideographic space)
    (r"a\sb", "a\u00a0b", True),
    (r"東京\s大阪", "東京\u3000大阪", True),
    # boundaries meeting at one position, \B, anchors
    (r"\bprice\b.*\bnow\b", "price now", True),
    (r"\bprice\b.*\bnow\b", "pricenow", False),
    (r"\Bор\B", "хорошо", True),
    (r"\Bор\B", "ор", False),
    (r"^\b", "слово", True),
    (r"\b$", "слово!", False),
    (r"[^\W\d_]+", "١٢٣abc", True),  # letters only: a class RE2 cannot write, computed once
    (r"^[^\W\d_]+$", "abc1", False),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), CASES)
def test_regex_means_what_python_re_means(pattern: str, text: str, expected: bool) -> None:
    assert bool(re.search(pattern, text, re.IGNORECASE)) is expected  # the promise holds in re
    regex = compile_regex(pattern)
    assert regex.engine == "re2"  # still the linear-time engine
    assert regex.warning == ""
    assert (regex.search(text) is not None) is expected


async def test_the_regex_set_path_gives_the_same_answers(tmp_path: Path) -> None:
    lines = ["rules:"]
    for i, (pattern, _text, _expected) in enumerate(CASES):
        lines += [f"  - name: r{i}", "    if:", f"      text: '{pattern}'", "    do: [{reply: x}]"]
    (tmp_path / "many.yaml").write_text("\n".join(lines), encoding="utf-8")
    rules = RuleSet.load([tmp_path])
    assert rules.candidates("message")  # one Set for all of them
    for i, (_pattern, text, expected) in enumerate(CASES):
        matched = f"r{i}" in await fired(rules, view(make_event(text=text)))
        assert matched is expected, (i, CASES[i])


async def test_named_groups_come_back_without_marks(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        "rules:\n  - name: r\n    if: {text: '\\b(?P<word>\\w+)\\s+(?P<n>\\d+)\\b'}\n    do: [{reply: x}]\n",
    )
    run = (await evaluate(rules, view(make_event(text="طلب ٤٢ الآن")))).matches[0]
    assert (run.variables["word"], run.variables["n"]) == ("طلب", "٤٢")
    assert MARK not in run.variables["word"] + run.variables["n"]


def test_space_class_is_exactly_what_str_isspace_accepts() -> None:
    rewritten = compile_regex(r"\s")
    found = {chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF and chr(c).isspace()}
    assert all(rewritten.search(c) is not None for c in found)
    assert rewritten.search("x") is None and rewritten.search("\u200b") is None  # zero width: not a space
    assert len(found) == 29 and SPACE.count("-") == 2  # 29 characters, two ranges in the class


def test_mark_puts_two_marks_at_each_boundary_and_replaces_stray_ones() -> None:
    assert mark("hi, you") == f"{MARK * 2}hi{MARK * 2}, {MARK * 2}you{MARK * 2}"
    assert mark(f"a{MARK}") == f"{MARK * 2}a{MARK * 2}\ufffd"


def test_patterns_without_boundaries_are_searched_in_the_plain_text() -> None:
    assert rewrite(r"order (?P<n>\d+)").marked is False
    assert rewrite(r"order\b").marked is True


def test_a_boundary_the_rewrite_cannot_place_keeps_ascii_and_says_so() -> None:
    regex = compile_regex(r"\bfoo\b.*\b.*\bbar")  # three \b may meet where both .* are empty
    assert regex.engine == "re2"
    assert "match only ASCII" in regex.warning
    assert regex.search("foo, bar") is not None


def test_lookaround_is_refused_unless_opted_in_then_time_limited() -> None:
    from botengine.errors import BudgetExceededError
    from botengine.rules.regex import RegexError

    with pytest.raises(RegexError, match=r"uses a lookahead \(\?=…\)"):
        compile_regex(r"^(a|a)+(?=b)")
    slow = compile_regex(r"^(a|a)+(?=b)", backtracking=True)
    assert slow.engine == "backtracking"
    assert slow.search("ab") == {}  # it works on ordinary text
    assert (
        slow.search(
            "مرحبا",
        )
        is None
    )
    with pytest.raises(BudgetExceededError, match=r"took more than 0.1 s on this message"):
        slow.search("a" * 40 + "!")  # 2**40 ways to try: the time limit ends it


# --- contains: whole words, any script, any case --------------------------------------------------

WORDS = [
    ("cost", "What does it COST?", True),
    ("cost", "a new costume", False),
    ("cost", "cost-free", True),
    ("scam", "this is a SCAM!!", True),
    ("scam", "scampi for dinner", False),
    ("how much", "Hi, how much is it?", True),
    ("how much", "how muchness", False),
    ("مرحبا", "مرحبا بك", True),
    ("مرحبا", "مرحباتي", False),
    ("привет", "ПРИВЕТ!", True),
    ("привет", "приветствую", False),
    ("café", "un CAFE\u0301 noir", True),  # é written as e + combining accent
    ("cafe", "un café noir", False),
    ("straße", "STRASSE", True),  # case folding: ß is ss
    ("价格", "这个价格多少", True),  # no spaces in Chinese: the word matches inside the text
    ("セール", "夏のセール中", True),
    ("iphone", "我要买iPhone", True),  # a Latin word next to Chinese text
    ("🎉", "party🎉", True),
    ("c++", "I code c++17", True),
    ("c++", "I code objective-c++", True),
]


@pytest.mark.parametrize(("word", "text", "expected"), WORDS)
async def test_contains_matches_whole_words(tmp_path: Path, word: str, text: str, expected: bool) -> None:
    rules = ruleset(
        tmp_path, f"rules:\n  - name: r\n    if: {{contains: {word!r}}}\n    do: [{{reply: x}}]\n"
    )
    assert (await fired(rules, view(make_event(text=text))) == ["r"]) is expected


async def test_contains_anywhere_keeps_substring_matching(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path, "rules:\n  - name: r\n    if: {contains_anywhere: [cost, 'www.']}\n    do: [{reply: x}]\n"
    )
    assert await fired(rules, view(make_event(text="a new COSTUME"))) == ["r"]
    assert await fired(rules, view(make_event(text="see WWW.example.com"))) == ["r"]
    reason = await why_not(rules, view(make_event(text="hello")), "r")
    assert reason == "contains_anywhere: text does not contain 'cost' or 'www.'"


async def test_contains_reads_a_list_file(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir(parents=True)
    (tmp_path / "lists" / "banned.txt").write_text("scam\nspam link\n", encoding="utf-8")
    rules = ruleset(tmp_path, "rules:\n  - name: r\n    if: {contains: {in: banned}}\n    do: [{reply: x}]\n")
    assert await fired(rules, view(make_event(text="click this SPAM LINK now"))) == ["r"]
    assert await fired(rules, view(make_event(text="scampi and spam linkage"))) == []


@pytest.mark.parametrize(
    "pattern", ["*\\b", "+\\bW", "{0s<)z6!+5", "[[:alpha:]", "(?<=a", "\\", "[a-", "x{2,1}"]
)
@pytest.mark.parametrize("backtracking", [False, True])
def test_malformed_patterns_are_refused_in_words_never_a_crash(pattern: str, backtracking: bool) -> None:
    from botengine.rules.regex import RegexError

    problem: RegexError | None = None
    try:
        compile_regex(pattern, backtracking=backtracking)
    except RegexError as exc:
        problem = exc
    assert problem is None or (problem.message and problem.hint)
