"""YAML syntax errors in plain words, at the line the person has to change (not where the parser
gave up), with the same result whether PyYAML runs on libyaml or on its own Python parser."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from botengine.rules.loader import load
from botengine.rules.yamlerrors import explain

RULE = "rules:\n  - name: greet\n"

# (what went wrong, the file, the line to change, words the message must hold)
MISTAKES = [
    ("a tab indents a key", RULE + "\tdo: x\n", 3, "a tab character"),
    ("a tab inside an indent", RULE + "    do:\n    \t- reply: hi\n", 4, "a tab character"),
    (
        "a missing colon (PyYAML says the next line)",
        RULE + "    description Say hi\n    do: [x]\n",
        3,
        "a colon is missing after 'description'",
    ),
    (
        "a missing colon before a nested block",
        RULE + "    if\n      chat: contact\n",
        3,
        "a colon is missing after 'if'",
    ),
    (
        "a missing colon on the item line",
        "rules:\n  - name greet\n    do: [x]\n",
        2,
        "a colon is missing after 'name'",
    ),
    ("a dash without a space", "rules:\n  -name: greet\n    do: [x]\n", 2, "a dash needs a space after it"),
    ("a key indented too little", RULE + "   do:\n      - reply: hi\n", 3, "not lined up"),
    (
        "a key indented too far",
        RULE + "      do:\n      - reply: hi\n",
        3,
        "indented further than the line above",
    ),
    (
        "a list item out of line",
        RULE + "    do:\n      - reply: hi\n     - reply: ho\n",
        5,
        "list item is not lined up",
    ),
    (
        "an unclosed double quote",
        RULE + '    do:\n      - reply: "Hello there\n  - name: b\n    do: [x]\n',
        4,
        'this " quote is never closed',
    ),
    (
        "an unclosed quote closed lines later",
        RULE + '    do:\n      - reply: "Hi\n  - name: b\n    do: [{reply: "x"}]\n',
        4,
        "never closed",
    ),
    (
        "an unclosed single quote",
        RULE + "    do:\n      - reply: 'Hello there\n",
        4,
        "' quote is never closed",
    ),
    (
        "text after the closing quote",
        RULE + '    do:\n      - reply: "Hello" there\n',
        4,
        "text after the closing quote",
    ),
    (
        "': ' inside an unquoted value",
        RULE + "    do:\n      - reply: Note: we are closed\n",
        4,
        "contains ': '",
    ),
    (
        "a template without quotes",
        RULE + "    do:\n      - reply: {{ sender.name }}\n",
        4,
        "starts with {{ must be in quotes",
    ),
    (
        "a template without quotes, then text",
        RULE + "    do:\n      - reply: {{ sender.name }} hi\n",
        4,
        "{{ must be in quotes",
    ),
    (
        "an unclosed [",
        RULE + "    if:\n      contains: [price, cost\n    do: [x]\n",
        4,
        "this [ list is not closed with ]",
    ),
    (
        "an unclosed {",
        RULE + "    if: {chat: contact\n    do: [x]\n",
        3,
        "this { mapping is not closed with }",
    ),
    (
        "a backslash in double quotes",
        RULE + '    if:\n      text: "\\d+"\n',
        4,
        "a backslash inside double quotes",
    ),
    ("a value starting with @", RULE + "    do:\n      - reply: @home\n", 4, "cannot start with @"),
    ("a value starting with *", RULE + "    do:\n      - reply: *bold* offer\n", 4, "cannot start with *"),
    ("a value starting with %", RULE + "    do:\n      - reply: %50 off\n", 4, "cannot start with %"),
    ("a value starting with !", RULE + "    do:\n      - reply: !important\n", 4, "cannot start with !"),
    ("text after |", RULE + "    do:\n      - reply: |x\n", 4, "after | or >"),
    ("a second document", RULE + "    do: [x]\n---\nrules: []\n", 4, "starts a second document"),
    ("a control character", RULE + "    description: a\x07b\n", 3, "control character"),
]


def _ids() -> list[str]:
    return [case[0] for case in MISTAKES]


@pytest.mark.parametrize(("what", "text", "line", "words"), MISTAKES, ids=_ids())
def test_each_mistake_in_plain_words_at_the_line_to_change(
    tmp_path: Path, what: str, text: str, line: int, words: str
) -> None:
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    [problem] = load([tmp_path]).errors
    assert problem.line == line, f"{what}: reported at line {problem.line}: {problem}"
    assert words in problem.message, f"{what}: {problem}"
    assert problem.hint, f"{what}: no hint in {problem}"
    assert "token" not in str(problem) and "scalar" not in str(problem)  # no parser talk


PURE_PARSER = [case for case in MISTAKES if "template" not in case[0]]  # {{ is our constructor's error


@pytest.mark.parametrize(("what", "text", "line", "words"), PURE_PARSER, ids=[c[0] for c in PURE_PARSER])
def test_the_same_words_from_the_pure_python_parser(what: str, text: str, line: int, words: str) -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.load(text, Loader=yaml.SafeLoader)
    explained = explain(caught.value, text)
    assert (explained.mark[0], words in explained.message) == (line, True), explained


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULE + "    do: [{reply: one}]\n    do: [{reply: two}]\n")
    [problem] = load([tmp_path]).errors
    assert (problem.line, problem.message) == (4, "'do' appears twice in the same place (first on line 3)")


def _laughs(levels: int) -> str:
    """Aliases repeating aliases: `levels` lines that expand to 9**levels values."""
    lines = ["      - &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    lines += [f"      - &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines)


def test_aliases_that_repeat_aliases_are_refused_before_anything_walks_them(tmp_path: Path) -> None:
    # 9**6 = 531,441 values from 7 short lines; nine levels would be 387 million, and the
    # checker used to walk every one of them (`check`, the engine's reload, the editor)
    text = (
        RULE
        + "    do:\n      - webhook:\n          url: https://example.com/x\n          json:\n"
        + "\n".join("    " + line for line in _laughs(6).splitlines())
        + "\n"
    )
    (tmp_path / "r.yaml").write_text(text)
    [problem] = load([tmp_path]).errors
    assert "aliases here repeat" in problem.message and "100,000 values" in problem.message
    assert problem.line == 12, problem  # the line of the alias that repeats too much


def test_a_long_text_repeated_by_aliases_is_refused(tmp_path: Path) -> None:
    text = (
        RULE
        + '    description: &t "'
        + "x" * 20_000
        + '"\n    do: [{reply: ['
        + ", ".join(["*t"] * 60)
        + "]}]\n"
    )
    (tmp_path / "r.yaml").write_text(text)
    [problem] = load([tmp_path]).errors
    assert "1,000,000 characters" in problem.message and problem.line == 4


def test_aliases_used_sparingly_still_load(tmp_path: Path) -> None:
    text = (
        "rules:\n  - name: a\n    if: {contains: hi}\n    do: &answer [{reply: Hello}]\n"
        "  - name: b\n    if: {contains: hey}\n    do: *answer\n"
    )
    (tmp_path / "r.yaml").write_text(text)
    loaded = load([tmp_path])
    assert not loaded.errors and [r.name for r in loaded.rules] == ["a", "b"]


@pytest.mark.parametrize(
    ("how", "nested"),
    [
        ("brackets", "[" * 300 + "x" + "]" * 300),
        ("aliases", None),
    ],
)
def test_values_nested_hundreds_deep_are_a_mistake_at_their_line_not_a_crash(
    tmp_path: Path, how: str, nested: str | None
) -> None:
    if nested is None:  # each line one level deeper than the one before, through an alias
        chain = "".join(f"\n      - &d{i} [*d{i - 1}]" for i in range(1, 300))
        head = RULE + "    if: {contains: hi}\n    do: [{reply: hi}]\n    x:\n      - &d0 [x]" + chain
        text = head + "\n    y: *d299\n"
    else:
        text = (
            RULE + "    if: {contains: hi}\n    do:\n      - webhook:\n          url: https://example.com/x\n"
        )
        text += f"          json: {nested}\n"
    (tmp_path / "r.yaml").write_text(text)
    [problem] = load([tmp_path]).errors  # RecursionError from the checker before
    assert "nested more than 64 levels deep" in problem.message, problem


def test_an_alias_inside_what_it_names_is_a_plain_mistake(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RULE + "    do: &loop [{reply: hi}, *loop]\n")
    [problem] = load([tmp_path]).errors
    assert problem.line == 3 and "inside of" in problem.message
