"""Secrets in rules: `{{ secrets.CRM_TOKEN }}` reads the environment variable CRM_TOKEN.

Rules files never hold secrets; they name them. Only action kinds that talk to third parties
(webhooks) may use them, a template gets only the secrets it names, the engine's own variables
(`BOTENGINE_*`: the webhook secret, Wawp tokens) are never reachable, and every value is
replaced by `«secret NAME»` wherever rendered parameters are shown: logs, dry runs, dead letters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_REFERENCE = re.compile(
    r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\])"
)
RESERVED_PREFIX = "BOTENGINE_"
MIN_REDACTED = 4  # a shorter value is no secret, and replacing it would garble everything shown


def referenced(value: Any) -> set[str]:
    """Names of the secrets the templates inside `value` read."""
    if isinstance(value, str):
        return {a or b for a, b in _REFERENCE.findall(value)} if "secrets" in value else set()
    if isinstance(value, dict):
        return set().union(*(referenced(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(referenced(v) for v in value)) if value else set()
    return set()


def problems(names: Iterable[str], env: Mapping[str, str]) -> list[str]:
    """Why these secrets cannot be given to a template (empty when they all can)."""
    found = []
    for name in sorted(names):
        if name.startswith(RESERVED_PREFIX):
            found.append(f"secrets.{name}: the engine's own settings cannot be used in rules")
        elif name not in env:
            found.append(f"secrets.{name}: the environment variable {name} is not set")
    return found


def lookup(names: Iterable[str], env: Mapping[str, str]) -> dict[str, str]:
    return {n: env[n] for n in names if n in env and not n.startswith(RESERVED_PREFIX)}


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every secret's text replaced by its name (recursively)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for name, text in secrets.items():
            if len(text) >= MIN_REDACTED:
                value = value.replace(text, f"«secret {name}»")
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value
