"""PyYAML's syntax errors in plain words, pointing at the line the person has to change.

PyYAML reports where its parser gave up, which is often the line after the mistake ("could not
find expected ':'" lands on the next key) and speaks of tokens and block collections. People who
write rules make the same dozen mistakes; each gets its own sentence and the line to edit:

    tabs · a missing colon · a dash without a space · a line indented too far or not enough ·
    an unclosed quote · text after a closing quote · ': ' inside an unquoted value · a {{ template }}
    not in quotes · an unclosed [ or { · a backslash in double quotes · a value that starts with
    @ ` % * & ! or ? · text after | or > · a second document (---) · a control character

Anything else keeps PyYAML's words, still at its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml

Mark = tuple[int, int]  # 1-based line and column

QUOTE_HINT = 'put the whole text in quotes, e.g. reply: "…"'


@dataclass(frozen=True)
class Explained:
    mark: Mark
    message: str
    hint: str = ""


@dataclass(frozen=True)
class _Error:
    """One parser error, with the text it came from."""

    problem: str
    context: str
    at: Mark  # where the parser gave up
    began: Mark  # where the construct it was reading began (often the line to change)
    lines: list[str]

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def char(self, mark: Mark) -> str:
        text = self.line(mark[0])
        return text[mark[1] - 1] if 0 < mark[1] <= len(text) else ""

    def previous(self, number: int) -> int:
        """The nearest line above `number` that holds something other than a comment."""
        for candidate in range(number - 1, 0, -1):
            stripped = self.line(candidate).strip()
            if stripped and not stripped.startswith("#"):
                return candidate
        return 0


def _start(number: int, text: str) -> Mark:
    return number, len(text) - len(text.lstrip()) + 1


def _key(text: str) -> str:
    return text.strip().lstrip("- ").split(" ")[0] or text.strip()


def _tab(e: _Error) -> Explained | None:
    message, hint = "a tab character: YAML indents with spaces only", "replace the tab with spaces"
    if e.char(e.at) == "\t":
        return Explained(e.at, message, hint)
    for number in range(min(e.began[0], e.at[0]), e.at[0] + 1):
        text = e.line(number)
        indent = text[: len(text) - len(text.lstrip(" \t"))]
        if "\t" in indent:
            return Explained((number, indent.find("\t") + 1), message, hint)
    return None


_QUOTED = re.compile(r"""(?:^|[:\-\[{,]\s*)(["'])""")


def _unbalanced_quote(text: str) -> int:
    """The column (1-based) of a quote that opens a value and is not closed on the line, or 0."""
    for match in _QUOTED.finditer(text):
        quote, start = match.group(1), match.end(1)
        rest = text[start:]
        rest = rest.replace("''", "") if quote == "'" else re.sub(r"\\.", "", rest)
        if quote not in rest:
            return start
    return 0


def _unclosed_quote(e: _Error) -> Explained | None:
    reading_quote = "quoted scalar" in e.context
    if not (reading_quote or any(w in e.problem for w in ("expected key", "end of stream", "<block end>"))):
        return None
    for number in range(min(e.began[0], e.at[0]), e.at[0] + 1):
        column = _unbalanced_quote(e.line(number))
        if column:
            quote = e.line(number)[column - 1]
            return Explained(
                (number, column), f"this {quote} quote is never closed", f"end the text with {quote} too"
            )
    if reading_quote:
        return Explained(
            e.began, "this quote is never closed", "end the text with the quote mark it starts with"
        )
    return None


def _escape(e: _Error) -> Explained | None:
    if "unknown escape" not in e.problem:
        return None
    return Explained(
        e.at,
        "a backslash inside double quotes starts an escape like \\n",
        r"write regexes and other text with backslashes in single quotes: text: '\d+'",
    )


def _missing_colon(e: _Error) -> Explained | None:
    if "could not find expected ':'" not in e.problem:
        return None
    text = e.line(e.began[0])
    return Explained(
        _start(e.began[0], text),
        f"a colon is missing after {_key(text)!r}",
        "write key: value, with a colon and a space",
    )


def _unclosed_flow(e: _Error) -> Explained | None:
    for opening, closing, what in (("[", "]", "list"), ("{", "}", "mapping")):
        if f"',' or '{closing}'" in e.problem:
            return Explained(
                e.began,
                f"this {opening} {what} is not closed with {closing}",
                f"close it on the same line; if the {opening} is part of a text, {QUOTE_HINT}",
            )
    return None


def _not_allowed_colon(e: _Error) -> Explained | None:
    if "mapping values are not allowed" not in e.problem:
        return None
    here = e.line(e.at[0])
    above = e.previous(e.at[0])
    above_text = e.line(above)
    if re.match(r"^\s*-[^\s-]", above_text):
        return Explained(_start(above, above_text), "a dash needs a space after it", "write - name: …")
    if ": " in here[: e.at[1] - 1] or here[: e.at[1] - 1].rstrip().endswith(":"):
        return Explained(
            e.at, "this value contains ': ', which YAML reads as the start of another key", QUOTE_HINT
        )
    if above and ":" not in above_text:
        return Explained(
            _start(above, above_text),
            f"a colon is missing after {_key(above_text)!r}",
            "write key: value, with a colon and a space",
        )
    return Explained(
        _start(e.at[0], here),
        "this line is indented further than the line above it",
        "give it as many spaces as the key it belongs beside",
    )


def _expected_key(e: _Error) -> Explained | None:
    if "expected key" not in e.problem and "expected <block end>" not in e.problem:
        return None
    here = e.line(e.at[0])
    before = here[: e.at[1] - 1].rstrip()
    if re.search(r":\s*\{\{", here):
        return Explained(_start(e.at[0], here), "a value that starts with {{ must be in quotes", QUOTE_HINT)
    if before.endswith(('"', "'")) and ":" in before:
        return Explained(e.at, "text after the closing quote", "put all of the text inside the quotes")
    if here.strip().startswith("-"):
        return Explained(
            _start(e.at[0], here),
            "this list item is not lined up with what is above it",
            "items of one list start at the same column; a key holds either a list or a mapping, not both",
        )
    return _misaligned(e)


def _misaligned(e: _Error) -> Explained:
    here = e.line(e.at[0])
    return Explained(
        _start(e.at[0], here),
        "this line is not lined up with the lines above it",
        "indent it with as many spaces as the other keys at its level: name, if and do line up",
    )


def _expected_dash(e: _Error) -> Explained | None:
    return _misaligned(e) if "expected '-' indicator" in e.problem else None


_RESERVED = {
    "@": "YAML reserves it",
    "`": "YAML reserves it",
    "%": "YAML reads it as a directive",
    "*": "YAML reads it as a reference to an anchor",
    "&": "YAML reads it as an anchor",
    "!": "YAML reads it as a type tag",
    "?": "YAML reads it as a complex key",
    "|": "YAML reads it as the start of a block of text",
    ">": "YAML reads it as the start of a block of text",
}


def _reserved(e: _Error) -> Explained | None:
    char = ""
    if "cannot start any token" in e.problem:
        char = e.char(e.at)
    elif "scanning an alias" in e.context:
        char = "*"
    elif "scanning an anchor" in e.context:
        char = "&"
    elif "constructor for the tag" in e.problem:
        char = "!"
    elif "mapping keys are not allowed" in e.problem:
        char = "?"
    if char not in _RESERVED:
        return None
    mark = e.began if char in "*&" else e.at
    line = e.line(mark[0])
    column = line.find(char, max(line.find(":"), 0)) + 1 or mark[1]
    return Explained((mark[0], column), f"a value cannot start with {char} ({_RESERVED[char]})", QUOTE_HINT)


def _block_scalar(e: _Error) -> Explained | None:
    if "block scalar" not in e.context:
        return None
    return Explained(
        e.began,
        "after | or > nothing may follow on the same line",
        "put the text on the lines below, indented, or put it in quotes",
    )


def _second_document(e: _Error) -> Explained | None:
    if "another document" not in e.problem:
        return None
    return Explained(
        e.at, "a line with --- starts a second document; a rules file holds one", "remove the --- line"
    )


def _bad_key(e: _Error) -> Explained | None:
    """Our own constructor's error: usually a {{ template }} written without quotes."""
    if "key must be a plain word" not in e.problem:
        return None
    here = e.line(e.at[0])
    if "{{" in here:
        return Explained(_start(e.at[0], here), "a value that starts with {{ must be in quotes", QUOTE_HINT)
    return Explained(
        e.at, e.problem, f"a {{ or [ starts a mapping or a list; if it is part of a text, {QUOTE_HINT}"
    )


_RULES: tuple[Callable[[_Error], Explained | None], ...] = (
    _tab,
    _escape,
    _unclosed_quote,
    _missing_colon,
    _unclosed_flow,
    _second_document,
    _block_scalar,
    _reserved,
    _not_allowed_colon,
    _expected_key,
    _expected_dash,
    _bad_key,
)


def _mark(mark: yaml.Mark | None, fallback: Mark = (1, 1)) -> Mark:
    return (mark.line + 1, mark.column + 1) if mark is not None else fallback


def explain(exc: yaml.YAMLError, text: str) -> Explained:
    """The error in plain words, at the line to change."""
    lines = text.splitlines()
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return Explained(
            (line, column),
            f"an invisible control character (code {exc.character!r}) that a rules file cannot hold",
            "retype this line, or delete the character",
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Explained((1, 1), f"the file cannot be read as YAML: {exc}")
    at = _mark(exc.problem_mark or exc.context_mark)
    error = _Error(exc.problem or "", exc.context or "", at, _mark(exc.context_mark, at), lines)
    for rule in _RULES:
        found = rule(error)
        if found is not None:
            return found
    return Explained(
        at,
        f"YAML cannot read this line: {error.problem or error.context}",
        "check its indentation and quotes",
    )
