"""What one setting is (`Option`), and the parsers that turn its text into a value.

config.OPTIONS lists every setting with one of these; a value comes from a flag, a `BOTENGINE_*`
variable or the option's default, always as text first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(text: str) -> tuple[Network, ...]:
    nets = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not an IP address or CIDR range") from exc
    return tuple(nets)


def words(text: str) -> tuple[str, ...]:
    return tuple(filter(None, (p.strip() for p in text.split(","))))


def size(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("kib", 1024), ("mib", 1 << 20), ("kb", 1000), ("mb", 1_000_000), ("b", 1)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def yes_no(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{text!r} is not a yes/no value (use true or false)")


@dataclass(frozen=True)
class Choice:
    """A parser that accepts one of a few words, and can say which (for --help and the README)."""

    choices: tuple[str, ...]

    def __call__(self, text: str) -> str:
        if text not in self.choices:
            raise ValueError(f"{text!r} is not one of {', '.join(self.choices)}")
        return text


def choice(*choices: str) -> Choice:
    return Choice(choices)


@dataclass(frozen=True)
class Option:
    """One setting: `flag` is None for secrets, which come from the environment only."""

    name: str
    env: str
    parse: Callable[[str], Any]
    default: str
    help: str
    flag: str | None = None
    is_switch: bool = False

    @property
    def choices(self) -> tuple[str, ...]:
        """The values allowed, when there are only a few (listed in --help and the README)."""
        return self.parse.choices if isinstance(self.parse, Choice) else ()

    @property
    def described(self) -> str:
        """The help text, with the values allowed when there are only a few."""
        if not self.choices:
            return self.help
        return f"{self.help} (one of: {', '.join(self.choices)})"
