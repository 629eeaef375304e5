"""Secrets in rules: `{{ secrets.CRM_TOKEN }}` reads the environment variable CRM_TOKEN, if the
operator declared it.

Rules files never hold secrets; they name them. The environment holds much more than what rules
need (HOME, PATH, cloud credentials), so a rule may read only the variables the operator lists:

    BOTENGINE_RULE_SECRETS=CRM_TOKEN,SHOP_*     # CRM_TOKEN, and every variable starting SHOP_

Anything else is refused by `check` (and at run time). Only action kinds that talk to third
parties (webhooks) may use secrets, a template gets only the secrets it names, the engine's own
variables (`BOTENGINE_*`: the webhook secret, Wawp tokens) are never reachable even when a
pattern would match them, and every value is replaced by `«secret NAME»` wherever rendered
parameters are shown: logs, dead letters.

Dry runs (`botengine dry-run`, inline tests, the dashboard's playground and its editor's tries)
never see the values at all: they render with `«secret NAME»` in their place (`stand_ins`).
Redaction finds a secret only as written; `{{ secrets.CRM_TOKEN | reverse }}` or `[1:]` would
slip by, and a dry run is open to anyone who may try rules, a read-only dashboard login too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botengine.urls import encode_component

_REFERENCE = re.compile(
    r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]\s*\])"
)
_ENTRY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\*?$")
DECLARATION = "BOTENGINE_RULE_SECRETS"  # not BOTENGINE_SECRETS: one letter from the webhook secret
RESERVED_PREFIX = "BOTENGINE_"
MIN_REDACTED = 4  # a shorter value is no secret, and replacing it would garble everything shown


@dataclass(frozen=True)
class Declared:
    """The variables rules may read: exact names, and prefixes (written `SHOP_*`)."""

    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def allows(self, name: str) -> bool:
        if name.startswith(RESERVED_PREFIX):
            return False
        return name in self.names or name.startswith(self.prefixes)

    def written(self) -> str:
        return ",".join([*sorted(self.names), *(f"{p}*" for p in self.prefixes)])


def parse_declaration(text: str) -> Declared:
    """`CRM_TOKEN,SHOP_*` as a Declared; ValueError naming the entry that is not allowed."""
    names: set[str] = set()
    prefixes: list[str] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        if not _ENTRY.match(entry):
            if entry == "*":
                raise ValueError("'*' would give rules every variable (PATH, cloud credentials): name them")
            raise ValueError(f"{entry!r} is not a variable name, nor a prefix like SHOP_*")
        if entry.startswith(RESERVED_PREFIX):
            raise ValueError(f"{entry!r}: the engine's own settings cannot be given to rules")
        if entry.endswith("*"):
            prefixes.append(entry[:-1])
        else:
            names.add(entry)
    return Declared(frozenset(names), tuple(prefixes))


@dataclass(frozen=True)
class SecretProblem:
    """Why a rule cannot have a secret; `fatal` problems refuse the rule, the others only warn
    (a variable declared but not set yet may well be set before the rule first fires)."""

    message: str
    hint: str = ""
    fatal: bool = True

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


def referenced(value: Any) -> set[str]:
    """Names of the secrets the templates inside `value` read."""
    if isinstance(value, str):
        return {a or b for a, b in _REFERENCE.findall(value)} if "secrets" in value else set()
    if isinstance(value, dict):
        return set().union(*(referenced(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(referenced(v) for v in value)) if value else set()
    return set()


def problems(names: Iterable[str], env: Mapping[str, str]) -> list[SecretProblem]:
    """Why these secrets cannot be given to a template (empty when they all can)."""
    try:
        declared = parse_declaration(env.get(DECLARATION, ""))
    except ValueError as exc:
        return [SecretProblem(f"{DECLARATION}: {exc}", "fix the variable in the engine's environment")]
    found = []
    for name in sorted(names):
        if name.startswith(RESERVED_PREFIX):
            found.append(SecretProblem(f"secrets.{name}: the engine's own settings cannot be used in rules"))
        elif not declared.allows(name):
            wanted = ",".join(filter(None, (declared.written(), name)))
            found.append(
                SecretProblem(
                    f"secrets.{name}: {name} is not declared as a secret rules may read",
                    f"declare it in the engine's environment: {DECLARATION}={wanted}; names are "
                    "separated by commas, and SHOP_* declares every name starting SHOP_",
                )
            )
        elif name not in env:
            found.append(
                SecretProblem(
                    f"secrets.{name}: the environment variable {name} is not set",
                    "set it in the engine's environment before the rule fires",
                    fatal=False,
                )
            )
    return found


def lookup(names: Iterable[str], env: Mapping[str, str]) -> dict[str, str]:
    """The values of the declared secrets among `names` that are set."""
    try:
        declared = parse_declaration(env.get(DECLARATION, ""))
    except ValueError:
        return {}
    return {n: env[n] for n in names if n in env and declared.allows(n)}


def stand_ins(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with the value of every variable rules may read replaced by `«secret NAME»`."""
    try:
        declared = parse_declaration(env.get(DECLARATION, ""))
    except ValueError:
        return dict(env)  # no secret can be read: `problems` says why
    return {name: f"«secret {name}»" if declared.allows(name) else value for name, value in env.items()}


def redact(value: Any, secrets: Mapping[str, str]) -> Any:
    """`value` with every secret's text replaced by its name (recursively)."""
    if not secrets:
        return value
    if isinstance(value, str):
        for name, text in secrets.items():
            if len(text) >= MIN_REDACTED:
                # in a URL the secret is percent-encoded (urls.py): hide that spelling too
                for spelling in dict.fromkeys((text, encode_component(text))):
                    value = value.replace(spelling, f"«secret {name}»")
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value
