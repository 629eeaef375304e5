"""Whole-word matching for `contains:`, in any language and any case.

    contains: cost      matches "the cost?", "COST", "cost-free"; not "costume" nor "accost"
    contains: "🎉"      an edge that is not a letter or digit needs nothing around it: "party🎉"
    contains: 价格      Chinese, Japanese, Thai, Lao, Khmer and Burmese are written without spaces
                        between words: there a word matches wherever it appears ("这个价格多少")

A word is glued to a neighbour that is a letter, digit, combining mark or `_` (in one of the
scripts written with spaces). Texts and words are compared after Unicode NFC normalization and
case folding, so "É" written as one character or as "E" plus an accent is the same letter, and
"STRASSE" matches "straße". `contains_anywhere:` keeps plain substring matching.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cached_property, lru_cache

import regex

# Scripts written without spaces between words: no boundary can be told there without a dictionary.
_SPACELESS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_GLUE = rf"[[\p{{L}}\p{{N}}\p{{M}}_]--[{_SPACELESS}]]"  # a neighbour that would continue a word
_GLUES = regex.compile(_GLUE, regex.V1)


@lru_cache(maxsize=16)
def fold(text: str) -> str:
    """`text` for comparing: case-folded, NFC-normalized (cached: one event checks many rules)."""
    return unicodedata.normalize("NFC", text.casefold())


class WordMatcher:
    """Finds any of some words (already folded) as whole words in a folded text."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words = tuple(dict.fromkeys(words))

    @cached_property
    def _pattern(self) -> regex.Pattern[str]:
        """Built on first need (most texts contain none of the words): ~1 ms, too slow at load."""
        groups: dict[tuple[bool, bool], list[str]] = {}
        for word in self.words:
            edges = (bool(_GLUES.fullmatch(word[0])), bool(_GLUES.fullmatch(word[-1])))
            groups.setdefault(edges, []).append(regex.escape(word))
        alternatives = []
        for (left, right), escaped in groups.items():
            body = "(?:" + "|".join(sorted(escaped, key=len, reverse=True)) + ")"
            alternatives.append((f"(?<!{_GLUE})" if left else "") + body + (f"(?!{_GLUE})" if right else ""))
        return regex.compile("|".join(alternatives), regex.V1)

    def search(self, folded: str) -> bool:
        """True when one of the words is in `folded` as a whole word."""
        if not any(word in folded for word in self.words):
            return False  # the common case, decided by plain substring search
        return self._pattern.search(folded) is not None
