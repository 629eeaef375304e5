"""A problem found in a rules file: where it is, what is wrong, and a hint to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Problem:
    """`rules/shop.yaml:14:7: rule 'greet': unknown action 'replly' (did you mean 'reply'?)`."""

    path: str
    line: int
    col: int
    message: str
    hint: str = ""
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.col}: "
        label = "warning: " if self.severity == "warning" else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{label}{self.message}{hint}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'did you mean 'reply'?' for the closest choice, or a list of choices when none is close."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if options and len(options) <= 12:
        return "expected one of: " + ", ".join(options)
    return ""
