r"""Character classes for `regex_rewrite`: Python's `\\w \\d \\s` as RE2 classes, inside `[…]` too.

RE2 cannot subtract or intersect classes, so a class mixing a complement with other items is
written as an alternation (`[a\\W]` → `(?:[a]|[^\\pL\\pN_])`), and a negated class holding a
negated shorthand (`[^\\W\\d_]`, "letters") is computed once as explicit ranges.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

MARK = "\ufdd0"
M = r"\x{FDD0}"
# The characters str.isspace() accepts, which is what Python's \s matches (tests check the list).
SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_WORD = r"\pL\pN_"
_DIGIT = r"\p{Nd}"
# shorthand → (the class body it stands for, negated?)
SHORTHANDS = {
    "w": (_WORD, False),
    "W": (_WORD, True),
    "d": (_DIGIT, False),
    "D": (_DIGIT, True),
    "s": (SPACE, False),
    "S": (SPACE, True),
}
NEVER = r"[^\x00-\x{10FFFF}]"  # a class nothing matches


class Unsupported(ValueError):
    """The pattern uses something the rewrite cannot give Python's meaning (kept ASCII-only)."""


def rewrite_class(src: str, start: int, *, marked: bool, case_sensitive: bool) -> tuple[str, int]:
    """The bracketed class at `start` (its `[`) rewritten, and the index just past its `]`."""
    j = start + 1
    negated = src[j : j + 1] == "^"
    j += negated
    items: list[_Item] = []
    first = True
    while j < len(src) and (src[j] != "]" or first):
        first = False
        item, j = _class_item(src, j)
        if item.kind == "char" and src[j : j + 1] == "-" and src[j + 1 : j + 2] not in ("]", ""):
            end, j = _class_item(src, j + 1)
            if end.kind != "char":
                raise Unsupported("a range that ends in a class")
            item = _Item("range", f"{item.text}-{end.text}", item.low, end.low)
        items.append(item)
    if j >= len(src):
        raise Unsupported("an unterminated class")
    original = src[start : j + 1]
    return _class_text(items, negated, original, marked, case_sensitive), j + 1


def _class_text(items: list[_Item], negated: bool, original: str, marked: bool, case_sensitive: bool) -> str:
    positive: list[str] = []
    negative: list[str] = []  # bodies of items that are complements (\W, \PL, [:^alpha:])
    for item in items:
        if item.kind == "shorthand":
            body, is_negated = SHORTHANDS[item.text[1]]
            (negative if is_negated else positive).append(body)
        elif item.kind == "complement" and marked:
            negative.append(item.body())
        elif item.kind == "range" and marked and item.low <= ord(MARK) <= item.high:
            positive.extend(_split_range(item.low, item.high))
        elif item.kind == "char" and item.low == ord(MARK) and marked:
            continue
        else:
            positive.append(item.text)
    mark = M if marked else ""
    if not negative:
        if negated:
            return f"[^{''.join(positive)}{mark}]"
        return f"[{''.join(positive)}]" if positive else NEVER
    if not negated:  # a union with complements: one alternative per complement
        parts = [f"[{''.join(positive)}]"] if positive else []
        parts += [f"[^{body}{mark}]" for body in negative]
        return "(?:" + "|".join(parts) + ")"
    if not positive and len(negative) == 1:  # [^\W] is \w
        return f"[{negative[0]}]"
    if any(item.kind in ("property", "complement", "posix") for item in items):
        raise Unsupported(f"the class {original} (Unicode properties with negated shorthands)")
    return _scanned_class(original, case_sensitive)


@dataclass(frozen=True)
class _Item:
    kind: str  # char | range | shorthand | complement | property | posix
    text: str
    low: int = -1  # code point(s) of a char or range
    high: int = -1

    def body(self) -> str:
        """For a complement: the class body of what it excludes."""
        if self.text.startswith("[:^"):
            return "[:" + self.text[3:]
        return property_parts(self.text)[1]


def _class_item(src: str, j: int) -> tuple[_Item, int]:
    c = src[j]
    if src.startswith("[:", j):
        end = src.find(":]", j + 2)
        if end < 0:
            return _Item("char", "\\[", ord("["), ord("[")), j + 1
        text = src[j : end + 2]
        return _Item("complement" if text.startswith("[:^") else "posix", text), end + 2
    if c != "\\":
        return _Item("char", c if c not in "[]" else "\\" + c, ord(c), ord(c)), j + 1
    letter = src[j + 1 : j + 2]
    if letter in SHORTHANDS:
        return _Item("shorthand", src[j : j + 2]), j + 2
    if letter in ("p", "P"):
        text = property_text(src, j)
        return _Item("complement" if property_parts(text)[0] else "property", text), j + len(text)
    text = plain_escape(src, j)
    code = _escape_code(text)
    return _Item("char", text, code, code), j + len(text)


def property_text(src: str, i: int) -> str:
    if src[i + 2 : i + 3] == "{":
        end = src.find("}", i)
        if end < 0:
            raise Unsupported("an unterminated \\p{…}")
        return src[i : end + 1]
    return src[i : i + 3]


def property_parts(text: str) -> tuple[bool, str]:
    """`\\PL`, `\\P{Greek}`, `\\p{^Greek}` → (True, the positive form); `\\pL` → (False, itself)."""
    negated = text[1] == "P"
    name = text[2:]
    if name.startswith("{^"):
        negated, name = not negated, "{" + name[2:]
    return negated, "\\p" + name


def plain_escape(src: str, i: int) -> str:
    """An escape that stands for one character (or one RE2 leaves alone): its full text."""
    letter = src[i + 1 : i + 2]
    if letter == "x":
        if src[i + 2 : i + 3] == "{":
            end = src.find("}", i)
            return src[i : end + 1] if end > 0 else src[i:]
        return src[i : i + 4]
    if letter.isdigit():
        j = i + 1
        while j < len(src) and j < i + 4 and src[j] in "01234567":
            j += 1
        return src[i : max(j, i + 2)]
    return src[i : i + 2]


_NAMED = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "a": 7}


def _escape_code(text: str) -> int:
    """The code point a one-character escape stands for (-1 when it is not one)."""
    body = text[1:]
    try:
        if body.startswith("x{"):
            return int(body[2:-1], 16)
        if body.startswith("x"):
            return int(body[1:], 16)
        if body[:1].isdigit():
            return int(body, 8)
    except ValueError:
        return -1
    return _NAMED.get(body, ord(body) if len(body) == 1 else -1)


def _split_range(low: int, high: int) -> list[str]:
    """A range without MARK in it."""
    parts = []
    if low < ord(MARK):
        parts.append(f"\\x{{{low:X}}}-\\x{{{ord(MARK) - 1:X}}}")
    if high > ord(MARK):
        parts.append(f"\\x{{{ord(MARK) + 1:X}}}-\\x{{{high:X}}}")
    return parts


@lru_cache(maxsize=256)
def _scanned_class(original: str, case_sensitive: bool) -> str:
    r"""A negated class with a negated shorthand (`[^\W\d_]`, "letters"), as explicit ranges.

    RE2 cannot intersect classes, so the set is computed once by asking Python's `re` about
    every code point (a few tenths of a second, cached).
    """
    python = re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: f"\\U{int(m.group(1), 16):08X}", original)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "possible nested set": Python would read it otherwise
            compiled = re.compile(python, 0 if case_sensitive else re.IGNORECASE)
    except (re.error, FutureWarning) as exc:
        raise Unsupported(f"the class {original} ({exc})") from exc
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF or code == ord(MARK) or not compiled.match(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    if not ranges:
        return r"[^\x00-\x{10FFFF}]"
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[{body}]"
