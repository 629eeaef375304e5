"""Where in which rules file: the place a problem is reported at, and the words it starts with.

    rule = Where(file, ("rules", 3), "rule 'greet': ")
    rule.child("do", 0).report("unknown action 'replly'", "did you mean 'reply'?", key=True)
    # rules/shop.yaml:14:7: rule 'greet': unknown action 'replly' (did you mean 'reply'?)

`RulesFile` is one file being checked: its path, its YAML (which remembers the line and column of
every node, yamlfile.py) and the list its problems go to. A `Where` is a path of keys and indexes
in it; checks pass one `Where` down instead of a file, a path and a message prefix each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from botengine.rules.problems import Problem, did_you_mean
from botengine.rules.yamlfile import Mark, mark_of


@dataclass
class RulesFile:
    """One rules file being checked, and where its problems go."""

    path: Path
    problems: list[Problem]
    root: Any = None  # the loaded YAML, once it parsed

    def problem(self, mark: Mark, message: str, hint: str = "", *, warning: bool = False) -> None:
        severity: Any = "warning" if warning else "error"
        self.problems.append(Problem(str(self.path), mark[0], mark[1], message, hint, severity))

    @property
    def top(self) -> Where:
        """The whole file, with no words before its problems."""
        return Where(self)


@dataclass(frozen=True)
class Where:
    """A place in a rules file (`path` of keys and indexes) and the prefix of problems about it."""

    file: RulesFile
    path: tuple[Any, ...] = ()
    prefix: str = ""  # "rule 'greet': "

    def child(self, *parts: Any) -> Where:
        return replace(self, path=(*self.path, *parts))

    def prefixed(self, more: str) -> Where:
        """The same place, its problems starting with `more` as well ("retry: ")."""
        return replace(self, prefix=self.prefix + more)

    def mark(self, *parts: Any, key: bool = False) -> Mark:
        """Line and column of the value at `parts` below here (of its key, with `key`)."""
        return mark_of(self.file.root, (*self.path, *parts), key=key)

    def value(self, *parts: Any) -> Any:
        """What is written at `parts` below here; None when there is nothing."""
        node = self.file.root
        for part in (*self.path, *parts):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    @property
    def location(self) -> str:
        """`rules/shop.yaml:12`, for messages and stored actions."""
        return f"{self.file.path}:{self.mark()[0]}"

    def report(
        self,
        message: str,
        hint: str = "",
        *,
        at: tuple[Any, ...] = (),
        key: bool = False,
        warning: bool = False,
    ) -> None:
        """A problem at `at` below here (at its key, with `key`), the prefix before `message`."""
        self.file.problem(self.mark(*at, key=key), self.prefix + message, hint, warning=warning)

    def report_validation(self, exc: ValidationError, fields: Iterable[str]) -> None:
        """pydantic's errors about the mapping here, in the rules' words, each at its own line."""
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden":
                name = str(loc[-1])
                # `fields` are this mapping's keys: a key inside one of its values is another's
                hint = did_you_mean(name, fields) if len(loc) == 1 else ""
                self.report(f"unknown key {name!r}", hint, at=loc, key=True)
            elif err["type"] == "missing":
                self.report(f"missing {loc[-1]!r}", at=loc[:-1])
            else:
                message = err["msg"].removeprefix("Value error, ")  # pydantic's words, not ours
                self.report(f"{'.'.join(str(p) for p in loc)}: {message}", at=loc)
