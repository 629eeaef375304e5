r"""Regexes for the `text` trigger: RE2 (linear time), with Python's Unicode `\b \w \d \s`.

RE2 cannot backtrack, so a pattern like `(a+)+$` against a long text costs microseconds instead of
stalling the worker. RE2's own `\b \w \d \s` are ASCII-only; patterns are rewritten
(`regex_rewrite`) so they mean what Python's `re` means, for Arabic, Cyrillic, CJK, accented
Latin and emoji alike. Many patterns are matched in one pass by an RE2 Set (`RegexSet`), so
1,000 regex rules do not mean 1,000 searches per event.

A pattern RE2 cannot run (backreferences, lookaround) is refused with a plain explanation,
unless its rule says `backtracking: true`: it then runs on the `regex` package, which gives up
after `budget.REGEX_SECONDS`; the event then goes to the dead-letter queue. That package writes
counted repeats out when it compiles, so nested ones (`((a{1000}){1000}){1000}`: a billion) are
refused before it sees them, or `check`, the editor and every reload would hang on compiling.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import re2
import regex

from botengine import budget
from botengine.errors import BotengineError, BudgetExceededError
from botengine.rules.regex_classes import Unsupported
from botengine.rules.regex_rewrite import mark, rewrite, unmark


class RegexError(ValueError):
    """A pattern that cannot be used: `hint` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _options(case_sensitive: bool) -> Any:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False  # an unsupported pattern is reported by `check`, not on stderr
    return options


def _re2_reason(exc: Exception) -> str:
    """RE2's complaint (bytes in its message) in plain words."""
    raw = exc.args[0] if exc.args else ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    for needle, meaning in (
        ("(?=", "a lookahead (?=…)"),
        ("(?!", "a negative lookahead (?!…)"),
        ("(?<=", "a lookbehind (?<=…)"),
        ("(?<!", "a negative lookbehind (?<!…)"),
        ("(?P=", "a backreference (?P=…)"),
        ("invalid escape sequence: \\", f"the escape {text.rpartition(': ')[2]}"),
        ("pattern too large", "a pattern too large for the safe engine"),
    ):
        if needle in text:
            return meaning
    return text


def _python_reason(source: str, exc: Exception) -> str:
    """Python's `re` says what is wrong more plainly ("missing ), unterminated subpattern")."""
    try:
        with warnings.catch_warnings():  # "possible nested set" and friends: not the point here
            warnings.simplefilter("ignore")
            re.compile(source)
    except re.error as python:
        return str(python)
    return str(exc)


@lru_cache(maxsize=8)  # texts may be long: a few events' worth is enough
def marked_text(text: str) -> str:
    """`text` with word boundaries marked, kept for the few searches of one event."""
    return mark(text)


class CompiledRegex:
    """One `text:` pattern, compiled once. Hashed by identity (the engine keeps sets of them).

    `engine` is "re2" or "backtracking"; `pattern` is what RE2 runs (the rewrite) and `marked`
    whether it runs on the marked text. `warning` is for `check`.
    """

    __slots__ = ("_compiled", "case_sensitive", "engine", "marked", "pattern", "source", "warning")

    def __init__(self, source: str, case_sensitive: bool, *, backtracking: bool = False) -> None:
        self.source = source
        self.case_sensitive = case_sensitive
        self.warning = ""
        self.marked = False
        self.pattern = source
        self.engine = "re2"
        try:  # the common case first: one rewrite, one compile
            rewritten = rewrite(source, case_sensitive=case_sensitive)
            self._compiled: Any = re2.compile(rewritten.pattern, _options(case_sensitive))
        except (Unsupported, re2.error) as exc:
            self._fallback(source, exc, backtracking)
        else:
            self.pattern, self.marked = rewritten.pattern, rewritten.marked

    def _fallback(self, source: str, exc: Exception, backtracking: bool) -> None:
        """The rewrite failed: RE2 as written (ASCII \\b \\w, with a warning), or the backtracking engine."""
        try:
            self._compiled = re2.compile(source, _options(self.case_sensitive))
        except re2.error as refused:
            self._backtracking(source, _re2_reason(refused), backtracking)
            return
        reason = str(exc) if isinstance(exc, Unsupported) else _re2_reason(exc)
        self.warning = (
            f"regex /{source}/: \\b, \\w, \\d and \\s match only ASCII letters and digits here ({reason})"
        )

    def _backtracking(self, source: str, reason: str, allowed: bool) -> None:
        """A pattern RE2 refused: run it on the backtracking engine only when the rule opts in."""
        pieces = written_out(source)
        if pieces > MAX_WRITTEN_OUT:
            raise RegexError(
                f"the regex's counted repeats multiply to about {pieces:,} pieces (the limit is "
                f"{MAX_WRITTEN_OUT:,}): a repeat inside a repeat multiplies",
                "use + or * instead of large {n} counts, or check the length in a second trigger",
            )
        flags = regex.V0 | (0 if self.case_sensitive else regex.IGNORECASE)
        try:
            self._compiled = regex.compile(source, flags)
        except (regex.error, ValueError, IndexError) as exc:  # the package's parser can slip too
            raise RegexError(
                f"the regex does not compile: {_python_reason(source, exc)}",
                "check brackets and escape special characters with \\",
            ) from exc
        if not allowed:
            raise RegexError(
                f"the regex uses {reason}, which the safe regex engine cannot run: on some messages "
                "it could take minutes and stall the whole bot",
                "rewrite it without lookaround or backreferences (a second trigger often does it), or "
                "opt in with text: {pattern: '…', backtracking: true}: a slower engine that gives up "
                f"after {budget.REGEX_SECONDS:g} s, sending that message to the dead-letter queue",
            )
        self.engine = "backtracking"

    def search(self, text: str) -> dict[str, Any] | None:
        """The named groups (possibly none) when the pattern is found in `text`, else None."""
        if self.engine == "backtracking":
            try:
                found = self._compiled.search(text, timeout=budget.REGEX_SECONDS)
            except TimeoutError:
                raise BudgetExceededError(
                    f"the regex /{self.source}/ took more than {budget.REGEX_SECONDS:g} s on this "
                    f"message ({len(text):,} characters)"
                ) from None
        else:
            found = self._compiled.search(marked_text(text) if self.marked else text)
        if found is None:
            return None
        groups = {k: v for k, v in found.groupdict().items() if v is not None}
        return {k: unmark(v) for k, v in groups.items()} if self.marked else groups

    def group_names(self) -> set[str]:
        return set(self._compiled.groupindex)

    def __repr__(self) -> str:
        return f"CompiledRegex({self.source!r}, engine={self.engine})"


MAX_WRITTEN_OUT = 100_000  # pieces of a pattern once its {n} repeats are written out
_COUNT = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_HUGE = 10**9


def written_out(source: str) -> int:
    """About how long `source` is with every counted repeat `{n}` written out, nested ones
    multiplying: what the backtracking engine's compiler builds (read as plain text, so
    it need not understand every construct: brackets, escapes and counts are what matter)."""
    frames = [[0, 0]]  # per open group: its length so far, and the length of its last item
    i = 0
    while i < len(source):
        char, item = source[i], 1
        if char == "\\":
            i += 2
        elif char == "[":
            i = _class_end(source, i)
        elif char == "(":
            frames.append([0, 0])
            i += 3 if source.startswith("(?:", i) else 1
            continue
        elif char == ")" and len(frames) > 1:
            item = max(frames.pop()[0], 1)
            i += 1
        elif char == "{" and (count := _COUNT.match(source, i)) and (count[1] or count[3]):
            times = max(_number(count[1]), _number(count[3]))
            frame = frames[-1]
            frame[0] += frame[1] * (times - 1) if times else -frame[1]
            frame[1] *= times
            i = count.end()
            continue
        elif char in "*+?":
            i += 1
            continue
        else:
            i += 1
        frames[-1][0] += item
        frames[-1][1] = item
    return sum(frame[0] for frame in frames)


def _number(digits: str) -> int:
    return int(digits) if digits and len(digits) < 10 else (_HUGE if digits else 0)


def _class_end(source: str, start: int) -> int:
    """Just past the `]` that closes the class opening at `start`."""
    i = start + 1
    if i < len(source) and source[i] == "^":
        i += 1
    if i < len(source) and source[i] == "]":  # a leading ] is a member
        i += 1
    while i < len(source) and source[i] != "]":
        i += 2 if source[i] == "\\" else 1
    return i + 1


def compile_regex(source: str, *, case_sensitive: bool = False, backtracking: bool = False) -> CompiledRegex:
    """Compile `source`; RegexError (with a hint) when it cannot be used."""
    return CompiledRegex(source, case_sensitive, backtracking=backtracking)


class RegexSet:
    """Many RE2 patterns searched in one pass: `matching(text)` is the subset that is found.

    One RE2 Set per (case sensitivity, marked text): a text is marked once for all its patterns.
    """

    def __init__(self, regexes: Sequence[CompiledRegex]) -> None:
        self._members: list[CompiledRegex] = []
        self._sets: list[tuple[Any, bool, list[CompiledRegex]]] = []
        for case_sensitive in (False, True):
            for marked in (False, True):
                group = [
                    r
                    for r in regexes
                    if r.engine == "re2" and r.case_sensitive == case_sensitive and r.marked == marked
                ]
                if group:
                    self._add_set(group, case_sensitive, marked)
        self.members: frozenset[CompiledRegex] = frozenset(self._members)

    def _add_set(self, group: list[CompiledRegex], case_sensitive: bool, marked: bool) -> None:
        options = _options(case_sensitive)
        options.max_mem = 256 << 20  # thousands of patterns need more than RE2's 8 MiB default
        matcher = re2.Set.SearchSet(options)
        added: list[CompiledRegex] = []
        for regex_ in group:
            try:
                matcher.Add(regex_.pattern)
            except re2.error:
                continue  # it stays out of the Set and is searched on its own
            added.append(regex_)
        if added:
            try:
                matcher.Compile()
            except re2.error as exc:  # pragma: no cover - RE2 ran out of its memory budget
                raise BotengineError(f"could not build the regex set: {exc}") from exc
            self._sets.append((matcher, marked, added))
            self._members.extend(added)

    def matching(self, text: str) -> frozenset[CompiledRegex]:
        found: list[CompiledRegex] = []
        for matcher, marked, added in self._sets:
            hits = matcher.Match(marked_text(text) if marked else text)
            found.extend(added[i] for i in hits or ())  # None when nothing matches
        return frozenset(found)
