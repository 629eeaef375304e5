"""Rules lost to a half-finished save: a file emptied or cut short keeps its rules running.

An editor that dies mid-save, a copy onto a full disk, an upload cut short: the file is left
empty, or ends part-way, and often still loads, with fewer rules or none. Nothing says a rule is
gone until customers stop getting answers. So:

- `check` warns about a file that holds no rules (empty, or `rules:` with nothing under it) and
  about one that ends in the middle of a line;
- the running engine, when a file that had rules now has fewer and looks emptied or cut short,
  keeps that file's previous rules and says so in its log, until the file is deleted or says
  `rules: []` on purpose.

A rule deleted from a complete file (one that ends with a line break) is simply gone, as intended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botengine.rules.yamlfile import Mark, YamlSyntaxError, load_yaml

if TYPE_CHECKING:  # the loader calls file_warnings: a type-only import keeps the two apart
    from botengine.rules.loader import CompiledRule

ON_PURPOSE = (
    "if you meant to remove every rule, write rules: [] (until then a running engine keeps this file's rules)"
)


def _lines(text: str) -> int:
    return text.count("\n") + 1


def file_warnings(text: str, root: Any) -> list[tuple[Mark, str, str]]:
    """What `check` says about a file that may have lost its rules: (mark, message, hint)."""
    found: list[tuple[Mark, str, str]] = []
    if root is None or (isinstance(root, dict) and root.get("rules") is None):
        what = "this file holds no rules" if root is None else "rules: holds nothing"
        found.append(((1, 1), f"{what} (emptied, or cut short by a save that did not finish?)", ON_PURPOSE))
    if text and not text.endswith("\n"):
        last = _lines(text)
        found.append(
            (
                (last, len(text.rsplit("\n", 1)[-1]) + 1),
                "the file ends in the middle of a line: was a save cut short?",
                "if the file is complete, end it with a line break",
            )
        )
    return found


def lost_reason(text: str, before: str | None) -> str | None:
    """Why a file that lost rules looks emptied or cut short, or None when the change looks meant."""
    try:
        root, _ = load_yaml(text)
    except YamlSyntaxError:
        return None  # such a file does not load at all: the whole previous set stays anyway
    if isinstance(root, dict) and root.get("rules") == []:
        return None  # said on purpose
    if root is None:
        return "is empty"
    if isinstance(root, dict) and root.get("rules") is None:
        return "has nothing under rules:"
    if not text.endswith("\n"):
        return "ends in the middle of a line"
    if before is not None and len(text) < len(before) and before.startswith(text):
        return "holds only the first part of what it held"
    return None


@dataclass(frozen=True)
class KeptFile:
    """A file whose previous rules stay live, and why."""

    path: str
    why: str
    rules: tuple[CompiledRule, ...]

    def __str__(self) -> str:
        names = ", ".join(r.name for r in self.rules)
        return (
            f"{self.path} {self.why} (it had {len(self.rules)} rules: {names}): the engine keeps "
            "running them until the file is deleted or says rules: []"
        )


def file_of(rule: CompiledRule) -> str:
    return rule.location.rsplit(":", 1)[0]


def _by_file(rules: Sequence[CompiledRule]) -> dict[str, list[CompiledRule]]:
    grouped: dict[str, list[CompiledRule]] = {}
    for rule in rules:
        grouped.setdefault(file_of(rule), []).append(rule)
    return grouped


def lost_files(
    before: Sequence[CompiledRule], after: Sequence[CompiledRule], texts_before: Mapping[str, str]
) -> list[KeptFile]:
    """The files that lost rules between two loads and look emptied or cut short."""
    old, new = _by_file(before), _by_file(after)
    kept = []
    for path, rules in old.items():
        if len(new.get(path, ())) >= len(rules):
            continue
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # deleted (or unreadable, which the loader reports): the rules go
        why = lost_reason(text, texts_before.get(path))
        if why is not None:
            kept.append(KeptFile(path, why, tuple(rules)))
    return kept


def merge(
    after: Sequence[CompiledRule], kept: Sequence[KeptFile], files: Sequence[Path]
) -> list[CompiledRule]:
    """The new rules with the kept files' previous rules in their files' places, numbered again.

    A kept rule whose name a rule elsewhere now uses is left out (the names stay unique).
    """
    replaced = {k.path: k.rules for k in kept}
    taken = {r.name for r in after if file_of(r) not in replaced}
    grouped = _by_file(after)
    merged: list[CompiledRule] = []
    for path in dict.fromkeys([*(str(f) for f in files), *grouped, *replaced]):
        if path in replaced:
            merged.extend(r for r in replaced[path] if r.name not in taken)
        else:
            merged.extend(grouped.get(path, ()))
    return [dataclasses.replace(rule, order=i) for i, rule in enumerate(merged)]
