"""YAML that remembers where everything was written, so every problem can say file:line:col.

Mappings load as `MarkedDict` and sequences as `MarkedList`: plain dict/list subclasses that also
hold the 1-based (line, col) of the node, of each key and of each item. Duplicate keys, which
PyYAML silently lets the last one win, are reported instead.

Rules files come from the dashboard's editor too, so a file is measured before it is built: an
alias (`*name`) repeats what it refers to, and nine lines of aliases repeating aliases make
hundreds of millions of values (a "billion laughs") that every later step would walk; nesting a
few hundred levels deep (by brackets or by aliases) overflows the checker's stack. Both are
refused as YAML mistakes at their line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from botengine.rules.yamlerrors import Mark as Mark
from botengine.rules.yamlerrors import explain


def _mark(node: Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


class MarkedDict(dict[Any, Any]):
    """A mapping with `mark` (where it starts), `key_marks` and `value_marks`."""

    mark: Mark = (1, 1)
    key_marks: dict[Any, Mark]
    value_marks: dict[Any, Mark]


class MarkedList(list[Any]):
    """A sequence with `mark` and `item_marks` (one per item)."""

    mark: Mark = (1, 1)
    item_marks: list[Mark]


# libyaml's parser when PyYAML was built with it: loading 1,000 rules is 5x faster. Construction
# (the part that records marks) stays in Python either way.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader (no tags that build objects) that records marks and duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[Mark, str, Mark]] = []  # where, the key, where it first was

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        result = MarkedDict()
        result.mark = _mark(node)
        result.key_marks, result.value_marks = {}, {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be a plain word or number", key_node.start_mark
                )
            if key in result:
                self.duplicates.append((_mark(key_node), str(key), result.key_marks[key]))
            result[key] = self.construct_object(value_node, deep=True)
            result.key_marks[key] = _mark(key_node)
            result.value_marks[key] = _mark(value_node)
        return result

    def construct_sequence(self, node: SequenceNode, deep: bool = False) -> list[Any]:
        result = MarkedList(self.construct_object(child, deep=True) for child in node.value)
        result.mark = _mark(node)
        result.item_marks = [_mark(child) for child in node.value]
        return result


# YAML 1.1 reads on/off/yes/no as booleans, which would turn a rule's `on:` key into True. Follow
# YAML 1.2 instead: only true and false are booleans.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


class YamlSyntaxError(Exception):
    """A file that is not YAML: where to fix it, what is wrong and how to fix it, in plain words."""

    def __init__(self, mark: Mark, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.hint = hint


MAX_DEPTH = 64  # levels of nesting: a rules file needs about 10, a webhook's JSON body a few more
MAX_REPEATED = 100_000  # values that aliases may add to a file beyond those written out
MAX_REPEATED_TEXT = 1_000_000  # characters that aliases may add (a long text repeated is as bad)


def load_yaml(text: str) -> tuple[Any, list[tuple[Mark, str, Mark]]]:
    """The document (None when empty) and the duplicate keys found, as (mark, key, first mark)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        _measure(node)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        explained = explain(exc, text)
        raise YamlSyntaxError(explained.mark, explained.message, explained.hint) from exc
    finally:
        loader.dispose()
    return data, loader.duplicates


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _own_text(node: Node) -> int:
    return len(node.value) if isinstance(node, ScalarNode) else 0


def _measure(root: Node) -> None:
    """Refuse a document that nests too deep or whose aliases repeat too much, before building it.

    Aliases make the nodes a graph (shared, even cyclic), so the walk is iterative and remembers
    what each node expands to: linear in the nodes written, whatever they would expand to.
    """
    written = [0, 0]  # values and characters met so far, each node once
    expanded: dict[int, tuple[int, int, int]] = {}  # node → values, characters, depth
    started: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        ident = id(node)
        if finished:
            kids = [expanded[id(kid)] for kid in _children(node)]
            values = 1 + sum(k[0] for k in kids)
            chars = _own_text(node) + sum(k[1] for k in kids)
            depth = 1 + max((k[2] for k in kids), default=0)
            expanded[ident] = (values, chars, depth)
            started.discard(ident)
            _within_limits(node, depth, values - written[0], chars - written[1])
            continue
        if ident in expanded:
            continue
        if ident in started:  # reached again before it was finished: it contains itself
            raise YamlSyntaxError(
                _mark(node), "an alias here refers to the list or mapping it is inside of", _ALIAS_HINT
            )
        started.add(ident)
        written[0] += 1
        written[1] += _own_text(node)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in expanded)


_ALIAS_HINT = "write the values out where they are needed instead of using &anchors and *aliases"


def _within_limits(node: Node, depth: int, repeated: int, repeated_text: int) -> None:
    """`repeated`: how many more values the node expands to than were written (at least)."""
    if depth > MAX_DEPTH:
        raise YamlSyntaxError(
            _mark(node),
            f"values are nested more than {MAX_DEPTH} levels deep here",
            "a rules file needs only a few levels: look for brackets or aliases that nest",
        )
    if repeated > MAX_REPEATED or repeated_text > MAX_REPEATED_TEXT:
        what = f"{MAX_REPEATED:,} values" if repeated > MAX_REPEATED else f"{MAX_REPEATED_TEXT:,} characters"
        raise YamlSyntaxError(
            _mark(node), f"the aliases here repeat what they refer to into more than {what}", _ALIAS_HINT
        )


def mark_of(root: Any, path: tuple[Any, ...], *, key: bool = False) -> Mark:
    """Where the value at `path` (keys and indexes) was written; the nearest known parent otherwise.

    With `key=True`, the mark of the last key itself (for "unknown key" problems).
    """
    node, mark = root, getattr(root, "mark", (1, 1))
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, MarkedDict) and part in node:
            mark = node.key_marks[part] if (key and last) else node.value_marks[part]
            node = node[part]
        elif isinstance(node, MarkedList) and isinstance(part, int) and 0 <= part < len(node):
            mark = node.item_marks[part]
            node = node[part]
        else:
            break
    return mark
