r"""RE2 patterns with the Unicode meaning Python's `re` gives `\b`, `\w`, `\d` and `\s`.

RE2's shorthand classes are ASCII-only: its `\w` never matches `é` or `م`, so `^(مرحبا|السلام)\b`
never matches an Arabic greeting. `rewrite` turns a pattern RE2 accepts into one with Python's
meaning, still run by RE2 (linear time, and still one pass for many patterns in an RE2 Set):

    \w → [\pL\pN_]    \d → \p{Nd}    \s → the characters str.isspace() accepts (and \W \D \S)

RE2 has no lookaround, so a word boundary cannot be tested inside the pattern. Instead, a
pattern with `\b` or `\B` is searched in a *marked* text: `mark` puts MARK (U+FDD0, a Unicode
noncharacter that never appears in messages) twice at every word boundary Python's `re` sees;
`\b` becomes "a MARK here", and every character the pattern matches may have MARKs before it:

    \bhi\b  →  (?:M)M{0,2}hM{0,2}i(?:M)      searched in "MMhiMM thereMM"  (M is U+FDD0)

Captured groups drop the marks again (`unmark`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from botengine.rules.regex_classes import (
    MARK,
    NEVER,
    SHORTHANDS,
    M,
    Unsupported,
    plain_escape,
    property_parts,
    property_text,
    rewrite_class,
)

_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}\??|[*+?]\??")
_BOUNDARY = re.compile(r"\b")
_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])")
_GROUP = re.compile(r"\((?:\?P?<[^>]*>)?")


@dataclass(frozen=True)
class Rewritten:
    pattern: str
    marked: bool  # search it in mark(text), not in the text


def rewrite(source: str, *, case_sensitive: bool = False) -> Rewritten:
    """`source` (a pattern RE2 accepts) with Python's Unicode `\\b \\w \\d \\s`; Unsupported otherwise."""
    try:
        try:
            return Rewritten(_Rewriter(source, False, case_sensitive).run(), False)
        except _NeedsMarks:
            return Rewritten(_Rewriter(source, True, case_sensitive).run(), True)
    except (IndexError, ValueError) as exc:  # malformed (RE2 says how) or a rewrite bug: not fatal
        raise Unsupported(str(exc) or type(exc).__name__) from exc


def mark(text: str) -> str:
    """`text` with MARK at each word boundary (a MARK already in it becomes U+FFFD)."""
    if MARK in text:
        text = text.replace(MARK, "\ufffd")
    return (MARK * _MARKS).join(_BOUNDARY.split(text))


def unmark(value: str) -> str:
    return value.replace(MARK, "")


class _NeedsMarks(Exception):
    """The pattern has a \\b or \\B: rewrite it again, for a marked text."""


_MARKS = 2  # MARKs at each boundary: up to two \b may meet at one position (\bfoo\b.*\bbar)
_AFTER_END = 10  # in `after_zw`: a $ or \z has taken the MARKs here


@dataclass
class _Frame:
    """An open group: the state where it starts, where its branches end, and its `s` flag."""

    entry: int
    dotall: bool
    ends: list[int] = field(default_factory=list)
    has_boundary: bool = False
    lead: int = 0  # the most \b a branch has before its first character
    started: bool = False  # the current branch has matched a character (or opened a group)


class _Rewriter:
    """One left-to-right pass over the pattern; `out` collects the rewritten pieces.

    A boundary in the text is `_MARKS` MARKs. `\\b` takes one of them; the character after takes
    what is left (`MARK{0,2}` before every character), `$` too. So up to `_MARKS` `\\b` may meet
    at one position on some path (`\\bprice\\b.*\\bnow\\b` when `.*` matches nothing). `after_zw`
    is the most MARKs taken at the current position on any path; more than `_MARKS`, or a `\\b`
    after a `$` took them all, is Unsupported (the pattern then keeps RE2's ASCII meaning).
    """

    def __init__(self, source: str, marked: bool, case_sensitive: bool) -> None:
        self.src = source
        self.i = 0
        self.marked = marked
        self.case_sensitive = case_sensitive
        self.out: list[str] = []
        self.frames = [_Frame(0, False)]
        self.pending: list[str] = []  # zero-width tokens written side by side, not yet emitted
        self.after_zw = 0
        self.before_last = 0  # after_zw before the last atom or group
        self.last_closed: _Frame | None = None  # the group just closed (a quantifier may follow)
        self.no_mark_next = False  # set by \B: the next character must not follow a boundary
        self.after_non_boundary = False  # the last atom is that character
        self.last_atom = -1  # index in `out` of the last atom, for wrapping before a quantifier

    def run(self) -> str:
        while self.i < len(self.src):
            c = self.src[self.i]
            if c == "\\":
                self._escape()
            elif c == "[":
                self._atom(self._class())
            elif c == "(":
                self._open()
            elif c == ")":
                self._close()
            elif c in "*+?{" and (q := _QUANTIFIER.match(self.src, self.i)):
                self._quantifier(q.group())
            elif c in "^$":
                self.pending.append(c)
                self.i += 1
            elif c == "|":
                self._branch()
            elif c == ".":
                self.i += 1
                dot = f"[^{M}]" if self.frames[-1].dotall else rf"[^\n{M}]"
                self._atom(dot if self.marked else ".")
            else:
                self.i += 1
                self._atom(re.escape(c) if c == "{" else c)
        self._flush("end")
        return "".join(self.out)

    # -- characters and quantifiers -------------------------------------------------------------

    def _atom(self, text: str) -> None:
        """Something that matches one character: in marked mode it may follow a boundary."""
        self._flush("atom")
        if self.marked and not self.no_mark_next:
            text = f"{M}{{0,{_MARKS}}}{text}"
        self.after_non_boundary, self.no_mark_next = self.no_mark_next, False
        self.frames[-1].started = True
        self.before_last, self.after_zw, self.last_closed = self.after_zw, 0, None
        self.out.append(text)
        self.last_atom = len(self.out) - 1

    def _quantifier(self, text: str) -> None:
        self._flush("quantifier")
        self.i += len(text)
        if self.marked:
            repeats = not (text.startswith("?") or re.match(r"\{[01](,[01]?)?\}", text))
            group = self.last_closed
            if repeats and group is not None and group.has_boundary and self.after_zw + group.lead > _MARKS:
                raise Unsupported(r"a repeated group with \b where one ends and the next begins")
            if self.out and self.last_atom == len(self.out) - 1:
                self.out[-1] = f"(?:{self.out[-1]})"
        nullable = text[0] in "*?" or text.startswith("{0")
        if self.after_non_boundary and self.last_atom == len(self.out) - 1:
            if nullable:
                raise Unsupported(r"\B before an optional character")
            # only the first repetition follows the \B: the others may follow a boundary
            text = f"(?:{M}{{0,{_MARKS}}}{self.out[-1]}){_fewer(text)}"
        if nullable:
            self.after_zw = max(self.after_zw, self.before_last)
        self.out.append(text)
        self.last_atom, self.last_closed = -1, None

    # -- groups -------------------------------------------------------------------------------

    def _open(self) -> None:
        self._flush("group")
        frame = self.frames[-1]
        flags = _FLAGS.match(self.src, self.i)
        opener = flags or _GROUP.match(self.src, self.i)
        assert opener is not None  # at a "("
        self.i = opener.end()
        self.out.append(opener.group())
        self.last_atom, self.last_closed = -1, None
        dotall = frame.dotall
        if flags:
            on, off, end = flags.groups()
            dotall = "s" in on or (dotall and "s" not in (off or ""))
            if end == ")":  # (?s): for the rest of the current group
                frame.dotall = dotall
                return
        frame.started = True
        self.frames.append(_Frame(self.after_zw, dotall))

    def _branch(self) -> None:
        self._flush("group")
        frame = self.frames[-1]
        frame.ends.append(self.after_zw)
        frame.started = False
        self.after_zw = frame.entry  # the next branch starts where the group started
        self.out.append("|")
        self.i += 1
        self.last_atom, self.last_closed = -1, None

    def _close(self) -> None:
        self._flush("group")
        self.i += 1
        self.out.append(")")
        self.last_atom = -1
        if len(self.frames) == 1:
            return  # unbalanced: RE2 refused the pattern already
        frame = self.frames.pop()
        frame.ends.append(self.after_zw)
        self.after_zw = max(frame.ends)
        self.before_last, self.last_closed = frame.entry, frame
        self.frames[-1].has_boundary |= frame.has_boundary

    # -- zero-width assertions ----------------------------------------------------------------

    def _flush(self, before: str) -> None:
        """Emit the pending `^ $ \\A \\z \\b \\B`, merged, before an atom, group, quantifier or the end."""
        run, self.pending = self.pending, []
        if not run:
            return
        if not self.marked:
            self.out.append("".join(run))
            self.last_atom, self.last_closed = -1, None
            return
        frame = self.frames[-1]
        boundary = r"\b" in run or r"\B" in run
        if before == "quantifier" and boundary:
            raise Unsupported(r"a repeated \b or \B")
        starts = "".join(t for t in run if t in ("^", r"\A"))
        ends = "".join(t for t in run if t in ("$", r"\z"))
        taken = self.after_zw + (r"\b" in run)
        if (boundary and self.after_zw >= _AFTER_END) or taken > _MARKS or (starts and self.after_zw):
            raise Unsupported(r"\b or \B next to another ^, $, \b or \B across a bracket")
        frame.has_boundary |= boundary
        if not frame.started:
            frame.lead = max(frame.lead, taken - frame.entry)
        if r"\b" in run and r"\B" in run:
            text = starts + NEVER
        elif r"\b" in run:
            text = f"{starts}(?:{M}{M}{{0,{_MARKS - 1}}}{ends})" if ends else f"{starts}(?:{M})"
        elif r"\B" in run:
            text = self._non_boundary(starts, ends, before)
        else:
            text = f"{starts}(?:{M}{{0,{_MARKS}}}{ends})" if ends else starts
        self.out.append(text)
        self.after_zw = _AFTER_END if ends else taken
        self.last_atom, self.last_closed = -1, None

    def _non_boundary(self, starts: str, ends: str, before: str) -> str:
        """\\B (without `$`): no MARK between the character before and the next one.

        Where the pattern starts, a search could begin just after a MARK, so the character
        before is matched too (it is outside every group there). Elsewhere the character before
        must be one the pattern surely matched: a single character just before the \\B.
        """
        at_start = not self.out and not starts
        if not (at_start or starts or self.last_atom == len(self.out) - 1):
            raise Unsupported(r"\B is only supported after a character, or where the pattern starts")
        before_text = f"(?:\\A|[^{M}])" if at_start else starts
        if ends:  # no MARK here, and the end right away
            return before_text + ends
        if before == "end":
            return f"{before_text}(?:[^{M}]|\\z)"
        if before != "atom":
            raise Unsupported(r"\B is only supported before a character, or at the end")
        self.no_mark_next = True
        return before_text

    def _escape(self) -> None:
        src, i = self.src, self.i
        letter = src[i + 1 : i + 2]
        if letter in ("b", "B") and not self.marked:
            raise _NeedsMarks
        if letter in SHORTHANDS:
            body, negated = SHORTHANDS[letter]
            self.i += 2
            self._atom(f"[^{body}{self._mark}]" if negated else f"[{body}]")
        elif letter in ("b", "B", "A", "z"):
            self.i += 2
            self.pending.append("\\" + letter)
        elif letter == "C" and self.marked:
            raise Unsupported(r"\C (any byte)")
        elif letter == "Q":
            end = src.find(r"\E", i + 2)
            literal = src[i + 2 :] if end < 0 else src[i + 2 : end]
            self.i = len(src) if end < 0 else end + 2
            for c in literal:
                self._atom(re.escape(c))
        elif letter in ("p", "P"):
            text = property_text(src, i)
            self.i += len(text)
            negated, positive = property_parts(text)
            self._atom(f"[^{positive}{M}]" if negated and self.marked else text)
        else:
            text = plain_escape(src, i)
            self.i += len(text)
            self._atom(text)

    def _class(self) -> str:
        text, self.i = rewrite_class(self.src, self.i, marked=self.marked, case_sensitive=self.case_sensitive)
        return text

    @property
    def _mark(self) -> str:
        """MARK, for adding to negated classes in marked mode (a negated class would match it)."""
        return M if self.marked else ""


def _fewer(quantifier: str) -> str:
    """The quantifier for one repetition fewer: `+` → `*`, `{2,5}` → `{1,4}`."""
    lazy = "?" if quantifier.endswith("?") and len(quantifier) > 1 else ""
    if quantifier[0] == "+":
        return "*" + lazy
    low, comma, high = quantifier.strip("{}?").partition(",")
    high = str(int(high) - 1) if high else ""
    return "{" + str(int(low) - 1) + comma + high + "}" + lazy
