"""Plain-text lists people edit by hand: named lists beside the rules, discount code pools."""

from __future__ import annotations


def read_list(text: str) -> tuple[str, ...]:
    """One entry a line; blank lines and `#` comments ignored; duplicates kept once."""
    entries = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(dict.fromkeys(e for e in entries if e))
