"""YAML that remembers where everything was written, so every problem can say file:line:col.

Mappings load as `MarkedDict` and sequences as `MarkedList`: plain dict/list subclasses that also
hold the 1-based (line, col) of the node, of each key and of each item. Duplicate keys, which
PyYAML silently lets the last one win, are reported instead.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

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


def load_yaml(text: str) -> tuple[Any, list[tuple[Mark, str, Mark]]]:
    """The document (None when empty) and the duplicate keys found, as (mark, key, first mark)."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        explained = explain(exc, text)
        raise YamlSyntaxError(explained.mark, explained.message, explained.hint) from exc
    finally:
        loader.dispose()
    return data, loader.duplicates


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
