"""Which rules an event can fire, found by lookups instead of by trying every rule.

A check that can say "I hold only when the event's X is one of these" carries an `IndexKey`
(triggers/base.py): a chat kind, a sender's or chat's JID, a session, a group action, an ack
level, an emoji (hash lookups); words of `contains:` (one RE2 Set pass over the folded text for
every word of every rule), prefixes of `starts_with:` (a lookup per prefix length in use), the
whole text of `equals:`; `text:` regexes (the engine's RegexSet, one pass). Each rule is filed
under ONE of its keys, the one shared by the fewest rules (its anchor); a rule with no key is
visited for every event. An event then visits the rules whose anchor it has, in file order, and
their checks decide as before: the index only ever skips a rule that one of its checks would
have failed, so the rules that fire are exactly those of trying every rule
(tests/test_rules_index.py compares both, at random and for every value).

A list the rules keep in the store (`add_to:`, store_lists.py) changes between events, so it is
never a key: a rule reading one is filed by its other keys, or visited for every event, and reads
the store only after its other triggers held (rules/triggers/people.py).

Everything is built when the rules load (`RuleIndex.__init__`), the RE2 sets included, so the
first event pays no more than the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import re2

from botengine.events import EventView
from botengine.rules.regex import CompiledRegex, RegexSet
from botengine.rules.triggers import Dimension
from botengine.rules.words import fold

if TYPE_CHECKING:
    from botengine.rules.loader import CompiledRule

_Postings = dict[Hashable, list[int]]  # a key's value → positions of the rules filed under it
_EMPTY: frozenset[CompiledRegex] = frozenset()

# An RE2 Set builds its automaton lazily, state by state, as texts walk through it: with 1,000
# patterns the first real message would pay ~20 ms for it. These texts (scripts, digits, marks,
# emoji, punctuation) walk the common states at load instead.
_WARM_TEXTS = (
    "Hello, I would like to ORDER 2 items #1234 today: where is invoice 0042? Thanks.",
    "hi! Is the shop open today? price, cost: 10.50€ (tomorrow) - ok, bye",
    "مرحبا اريد ان اطلب ٤٢ · Привет, заказ 17 · 你好，价格多少 · こんにちは · café naïve STRASSE",
    "Where's my order #00421?? 😡😡 👍🏽❤️ @447441429009 https://example.com/a?b=c\nline two\tend",
)


@dataclass(frozen=True)
class Found:
    """What the index found for one event: rules to visit (in file order), and the regexes."""

    rules: list[CompiledRule]
    screened: frozenset[CompiledRegex]  # regexes the RE2 Set ran on the text…
    hits: frozenset[CompiledRegex]  # … and those of them that matched


class _Words:
    """Many words searched in one text at once (an RE2 Set of literals): which ones occur."""

    def __init__(self, words: Iterable[Hashable]) -> None:
        self.words = [w for w in words if isinstance(w, str)]
        options = re2.Options()
        options.case_sensitive = True  # both sides are folded already
        options.max_mem = 256 << 20
        self._set: Any = re2.Set.SearchSet(options)
        try:
            for word in self.words:
                self._set.Add(re2.escape(word))
            self._set.Compile()
            for text in _WARM_TEXTS:
                self._set.Match(fold(text))
        except re2.error:  # pragma: no cover - past RE2's memory budget: one search per word
            self._set = None

    def found(self, text: str) -> list[str]:
        if self._set is None:  # pragma: no cover
            return [w for w in self.words if w in text]
        return [self.words[i] for i in self._set.Match(text) or ()]


class RuleIndex:
    """The rules one event type meets, filed by their most selective indexed trigger."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self._always: list[int] = []
        self._tables: dict[Dimension, _Postings] = {}
        keys = [[c.index for c in rule.checks if c.index is not None] for rule in self.rules]
        regexes = [c.regex for rule in self.rules for c in rule.checks if c.regex is not None]
        self.regex_set = RegexSet(regexes) if regexes else None
        if self.regex_set is not None:
            for text in _WARM_TEXTS:
                self.regex_set.matching(text)
        members = self.regex_set.members if self.regex_set else _EMPTY
        # a regex the Set could not take is searched by its check: it cannot file its rule
        keys = [[k for k in ks if k.dimension.match != "regex" or k.values <= members] for ks in keys]
        shared = Counter((k.dimension, v) for ks in keys for k in ks for v in k.values)
        for position, rule_keys in enumerate(keys):
            if not rule_keys:
                self._always.append(position)
                continue
            anchor = min(rule_keys, key=lambda k: sum(shared[k.dimension, v] for v in k.values))
            table = self._tables.setdefault(anchor.dimension, {})
            for value in anchor.values:
                table.setdefault(value, []).append(position)
        self._words = {
            dimension: _Words(table)
            for dimension, table in self._tables.items()
            if dimension.match == "substring"
        }
        self._lengths = {
            dimension: sorted({len(str(v)) for v in table})
            for dimension, table in self._tables.items()
            if dimension.match == "prefix"
        }

    def find(self, view: EventView, *, every: bool = False) -> Found:
        """The rules `view` may fire (all of them with `every`), and what the RE2 Set found."""
        screened, hits = _EMPTY, _EMPTY
        if self.regex_set is not None:
            screened, hits = self.regex_set.members, self.regex_set.matching(view.text)
        if every:
            return Found(list(self.rules), screened, hits)
        positions = list(self._always)
        for dimension, table in self._tables.items():
            for value in self._probe(dimension, view, hits):
                positions += table.get(value, ())
        if len(positions) > 1:
            positions = sorted(set(positions))
        return Found([self.rules[i] for i in positions], screened, hits)

    def _probe(self, dimension: Dimension, view: EventView, hits: frozenset[CompiledRegex]) -> Iterable[Any]:
        """The event's values of `dimension` that rules may be filed under."""
        if dimension.match == "exact":
            return dimension.probe(view)
        if dimension.match == "regex":
            return hits
        (text,) = dimension.probe(view)
        assert isinstance(text, str)
        if dimension.match == "substring":
            return self._words[dimension].found(text)
        return [text[:length] for length in self._lengths[dimension] if length <= len(text)]


def visit(
    indexes: Sequence[RuleIndex], view: EventView, *, every: bool = False
) -> tuple[list[CompiledRule], frozenset[CompiledRegex], frozenset[CompiledRegex], int]:
    """What several indexes (the rule groups an event type meets) found, together: (rules to
    visit in file order, regexes screened, regexes hit, how many rules the groups hold)."""
    if len(indexes) == 1:
        found = indexes[0].find(view, every=every)
        return found.rules, found.screened, found.hits, len(indexes[0].rules)
    rules: list[CompiledRule] = []
    screened: set[CompiledRegex] = set()
    hits: set[CompiledRegex] = set()
    for index in indexes:
        found = index.find(view, every=every)
        rules += found.rules
        screened |= found.screened
        hits |= found.hits
    rules.sort(key=lambda r: r.order)
    return rules, frozenset(screened), frozenset(hits), sum(len(i.rules) for i in indexes)
