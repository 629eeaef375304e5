"""Glob-or-exact matching, the one way rules match names: `message.*`, `4474*@c.us`, `image/*`.

A pattern without `*`, `?` or `[` is an exact word (a set lookup); the others are shell-style
wildcards over the whole name (fnmatch), compiled once.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable

_WILDCARDS = "*?["


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in _WILDCARDS)


def glob_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """A test for names equal to one of `patterns` or matching one of its wildcards."""
    patterns = list(patterns)
    exact = {p for p in patterns if not is_glob(p)}
    globs = [re.compile(fnmatch.translate(p)) for p in patterns if p not in exact]
    return lambda name: name in exact or any(g.match(name) for g in globs)
