"""Regexes for the `text` trigger: RE2 (linear time) where the pattern allows, Python `re` otherwise.

RE2 cannot backtrack, so a pattern like `(a+)+$` against a long text costs microseconds instead of
stalling the worker. Patterns RE2 does not support (backreferences, lookaround) fall back to
Python's `re`, and `check` warns about them. Many RE2-compatible patterns are also matched in one
pass by an RE2 Set (`RegexSet`), so 1,000 regex rules do not mean 1,000 searches per event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import re2

from botengine.errors import BotengineError


def _options(case_sensitive: bool) -> Any:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False  # an unsupported pattern is reported by `check`, not on stderr
    return options


class CompiledRegex:
    """One `text:` pattern, compiled once. Hashed by identity (the engine keeps sets of them)."""

    __slots__ = ("_compiled", "case_sensitive", "engine", "source", "warning")

    def __init__(self, source: str, case_sensitive: bool) -> None:
        self.source = source
        self.case_sensitive = case_sensitive
        self.warning = ""
        try:
            self._compiled: Any = re2.compile(source, _options(case_sensitive))
            self.engine = "re2"
        except re2.error:
            # raises re.error when Python cannot compile it either: the loader reports that
            self._compiled = re.compile(source, 0 if case_sensitive else re.IGNORECASE)
            self.engine = "re"
            self.warning = (
                f"regex /{source}/ uses features the linear-time engine lacks (backreferences or "
                "lookaround), so it runs on a backtracking engine and a crafted message could make "
                "it very slow"
            )

    def search(self, text: str) -> dict[str, Any] | None:
        """The named groups (possibly none) when the pattern is found in `text`, else None."""
        found = self._compiled.search(text)
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}

    def group_names(self) -> set[str]:
        return set(self._compiled.groupindex)

    def __repr__(self) -> str:
        return f"CompiledRegex({self.source!r}, engine={self.engine})"


def compile_regex(source: str, *, case_sensitive: bool = False) -> CompiledRegex:
    """Compile `source`; raises re.error when no engine accepts it."""
    return CompiledRegex(source, case_sensitive)


class RegexSet:
    """Many RE2 patterns searched in one pass: `matching(text)` is the subset that is found."""

    def __init__(self, regexes: Sequence[CompiledRegex]) -> None:
        self._members: list[CompiledRegex] = []
        self._sets: list[tuple[Any, list[CompiledRegex]]] = []
        for case_sensitive in (False, True):
            group = [r for r in regexes if r.engine == "re2" and r.case_sensitive == case_sensitive]
            if not group:
                continue
            options = _options(case_sensitive)
            options.max_mem = 256 << 20  # thousands of patterns need more than RE2's 8 MiB default
            matcher = re2.Set.SearchSet(options)
            added: list[CompiledRegex] = []
            for regex in group:
                try:
                    matcher.Add(regex.source)
                except re2.error:
                    continue  # it stays out of the Set and is searched on its own
                added.append(regex)
            if added:
                try:
                    matcher.Compile()
                except re2.error as exc:  # pragma: no cover - RE2 ran out of its memory budget
                    raise BotengineError(f"could not build the regex set: {exc}") from exc
                self._sets.append((matcher, added))
                self._members.extend(added)
        self.members: frozenset[CompiledRegex] = frozenset(self._members)

    def matching(self, text: str) -> frozenset[CompiledRegex]:
        found: list[CompiledRegex] = []
        for matcher, added in self._sets:
            found.extend(added[i] for i in matcher.Match(text) or ())  # None when nothing matches
        return frozenset(found)
