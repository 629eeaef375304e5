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
from functools import lru_cache

import regex

# Scripts written without spaces between words: no boundary can be told there without a dictionary.
_SPACELESS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_GLUE = rf"[[\p{{L}}\p{{N}}\p{{M}}_]--[{_SPACELESS}]]"  # a neighbour that would continue a word
_GLUES = regex.compile(_GLUE, regex.V1)


@lru_cache(maxsize=16)
def fold(text: str) -> str:
    """`text` for comparing: case-folded, NFC-normalized (cached: one event checks many rules)."""
    return unicodedata.normalize("NFC", text.casefold())


@lru_cache(maxsize=4096)
def _glued(char: str) -> bool:
    """Would `char` beside a word continue it (a letter, digit, mark or `_` of a spaced script)?"""
    return _GLUES.fullmatch(char) is not None


class WordMatcher:
    """Finds any of some words (already folded) as whole words in a folded text.

    Each occurrence of a word is checked at its two edges: an edge that is itself a letter or
    digit must not touch another. (The same test as `(?<!GLUE)word(?!GLUE)`, without a regex to
    compile per rule: 10,000 rules load and meet their first event without compiling any.)
    """

    def __init__(self, words: Sequence[str]) -> None:
        self.words = tuple(dict.fromkeys(words))
        self._edges = [(word, _glued(word[0]), _glued(word[-1])) for word in self.words]

    def search(self, folded: str) -> bool:
        """True when one of the words is in `folded` as a whole word."""
        for word, left, right in self._edges:
            start = folded.find(word)
            while start != -1:
                end = start + len(word)
                if not (left and start and _glued(folded[start - 1])) and not (
                    right and end < len(folded) and _glued(folded[end])
                ):
                    return True
                start = folded.find(word, start + 1)
        return False
