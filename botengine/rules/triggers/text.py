"""The message's text: `text` (a regex), `contains`, `contains_anywhere`, `starts_with`, `equals`."""

from __future__ import annotations

from typing import Any

from botengine.rules.regex import RegexError, compile_regex
from botengine.rules.triggers.base import (
    Check,
    CompileContext,
    Dimension,
    IndexKey,
    MatchContext,
    TriggerError,
    as_list,
    fold_word,
    register,
    short,
)
from botengine.rules.triggers.values import (
    InList,
    KeywordMatch,
    TextPattern,
)
from botengine.rules.words import WordMatcher, fold

# What the rule index looks up for text triggers (rules/index.py): the text as each trigger reads it.
REGEX = Dimension("regex", lambda view: (view.text,), "regex")
WORDS = Dimension("words", lambda view: (fold(view.text),), "substring")
PREFIX = Dimension("prefix", lambda view: (fold_word(view.text),), "prefix")
WHOLE_TEXT = Dimension("whole text", lambda view: (fold_word(view.text),))


@register(
    "text",
    str | TextPattern,
    "regular expression searched in the text, case-insensitive; named groups become variables",
    r"text: '^\s*order (?P<number>\d+)'",
    needs="text",
)
def _text(value: str | TextPattern, ctx: CompileContext) -> Check:
    pattern = value if isinstance(value, TextPattern) else TextPattern(pattern=value)
    source = pattern.pattern
    try:
        regex = compile_regex(
            source, case_sensitive=pattern.case_sensitive, backtracking=pattern.backtracking
        )
    except RegexError as exc:
        raise TriggerError(exc.message, exc.hint) from exc
    if regex.warning:
        hint = "write [\\pL\\pN_] for a letter or digit in any language, \\p{Nd} for a digit"
        ctx.warnings.append(TriggerError(regex.warning, hint, warning=True))
    if pattern.backtracking and regex.engine == "re2":
        ctx.warnings.append(
            TriggerError(
                "backtracking: true is not needed: the safe engine runs this regex",
                "remove backtracking: true",
                warning=True,
            )
        )
    label = f"/{short(source)}/"

    named = bool(regex.group_names())

    def check(m: MatchContext) -> str | None:
        if regex in m.screened:  # the RE2 Set ran this very pattern on this text
            if regex not in m.hits:
                return f"text does not match {label}"
            if not named:
                return None  # a hit, and no group to read: no second search
        found = regex.search(m.view.text)
        if found is None:
            return f"text does not match {label}"
        m.groups.update(found)
        return None

    return Check("text", check, regex=regex, index=IndexKey(REGEX, frozenset({regex})))


def _keywords(value: Any, ctx: CompileContext) -> tuple[list[str], str]:
    if isinstance(value, InList):
        words = list(ctx.named_list(value.in_).entries)
        label = f"a word in list {value.in_!r}"
    else:
        words = as_list(value)
        label = " or ".join(repr(w) for w in words)
    folded = [fold_word(w) for w in words if fold_word(w)]
    if not folded:
        raise TriggerError("no words to look for", "give a word, a list of words or {in: list}")
    return folded, short(label, 60)


@register(
    "contains",
    KeywordMatch,
    "the text contains one of these words, as a whole word, any case (cost: not costume)",
    "contains: [price, cost]",
    needs="text",
)
def _contains(value: KeywordMatch, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)
    matcher = WordMatcher(words)

    def check(m: MatchContext) -> str | None:
        return None if matcher.search(fold(m.view.text)) else f"text does not contain {label}"

    # a whole word is a substring first: the index finds the rules whose words occur at all
    return Check("contains", check, index=IndexKey(WORDS, frozenset(words)))


@register(
    "contains_anywhere",
    KeywordMatch,
    "the text contains this text anywhere, even inside a word, any case (cost: costume too)",
    "contains_anywhere: [http://, www.]",
    needs="text",
)
def _contains_anywhere(value: KeywordMatch, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)

    def check(m: MatchContext) -> str | None:
        text = fold(m.view.text)
        return None if any(w in text for w in words) else f"text does not contain {label}"

    return Check("contains_anywhere", check, index=IndexKey(WORDS, frozenset(words)))


@register(
    "starts_with", KeywordMatch, "the text starts with a word, any case", "starts_with: order", needs="text"
)
def _starts_with(value: KeywordMatch, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)
    prefixes = tuple(words)

    def check(m: MatchContext) -> str | None:
        return None if fold_word(m.view.text).startswith(prefixes) else f"text does not start with {label}"

    return Check("starts_with", check, index=IndexKey(PREFIX, frozenset(prefixes)))


@register(
    "equals",
    KeywordMatch,
    "the whole text is one of these, any case, spaces around ignored",
    "equals: [menu, start]",
    needs="text",
)
def _equals(value: KeywordMatch, ctx: CompileContext) -> Check:
    words, label = _keywords(value, ctx)
    wanted = set(words)

    def check(m: MatchContext) -> str | None:
        return None if fold_word(m.view.text) in wanted else f"text is not {label}"

    return Check("equals", check, index=IndexKey(WHOLE_TEXT, frozenset(wanted)))
