"""Plain-text lists people edit by hand: named lists beside the rules, discount code pools."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from botengine import confined


@dataclass(frozen=True)
class TextList:
    """A list's entries, and the line each was first written on: a message about an entry names
    its line, never quotes it (the file may hold anything)."""

    name: str  # as messages show it, e.g. lists/vip.txt
    entries: tuple[str, ...]
    lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, entry: str) -> int:
        return self.lines.get(entry, 1)


def parse_list(text: str, name: str = "") -> TextList:
    """One entry a line; blank lines and `#` comments ignored; duplicates kept once."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            lines.setdefault(entry, number)
    return TextList(name, tuple(lines), lines)


def read_list(text: str) -> tuple[str, ...]:
    return parse_list(text).entries


def load_list(folder: Path, name: Path | str) -> TextList:
    """The list file `name` inside the rules `folder`; FileRefusedError when it is not readable
    there (outside the folder, a link leading out, not a plain file)."""
    raw = confined.read(folder, name)
    return parse_list(raw.decode("utf-8", errors="replace"), str(name))
