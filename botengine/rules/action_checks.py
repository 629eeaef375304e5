"""Checking a rule's `do:` list as written, and building its ActionSpecs.

Per item: one action word (known, or a did-you-mean), its options (`retry:`, `timeout:`, `as:`,
`uncertain:`),
its parameters against the kind's model (a template may stand where a number goes: checked when
it renders), the kind's own load-time checks, secrets (only kinds that talk to other systems may
read them), and every template: it parses, and names only variables that exist at that point of
the rule. Problems go to the file through a `Where` (where.py); nothing here raises.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from pydantic import ValidationError

from botengine import secrets, urls
from botengine.actions import ACTIONS, ActionSpec
from botengine.actions.base import ActionKind, UncertainPolicy
from botengine.durations import parse_duration
from botengine.errors import TemplateError
from botengine.retry import RetryPolicy
from botengine.rules import reachability
from botengine.rules.branches import Conditions, check_branches
from botengine.rules.model import ACTION_OPTIONS
from botengine.rules.problems import did_you_mean
from botengine.rules.variables import FIELDS, VARIABLES
from botengine.rules.where import Where
from botengine.templating import fields_used as _fields_used
from botengine.templating import is_template
from botengine.templating import names_used as _names_used
from botengine.templating import static_problems as template_problems

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL_HINT = "keep the host in the rule; a token goes in headers: {Authorization: ...}"
LIMITS_HINT = "every event that reaches it would go to the dead-letter queue (docs/rules.md, Limits)"


@dataclass
class Names:
    """What a rule's templates may name: `known` at this point of the rule, and `own`, the names
    the rule gives itself (regex groups, results), which hide a variable of the same name."""

    known: set[str]
    own: set[str]

    def nested(self) -> Names:
        """For actions inside an action (a `later`'s `do:`): what they name stays inside."""
        return Names(set(self.known), self.own)


class ActionChecker:
    """Checks the actions of the rules of one file (`env`: where secrets will be read)."""

    def __init__(self, env: Mapping[str, str], conditions: Conditions | None = None) -> None:
        self.env = env
        self.conditions = conditions  # compiles a branch's triggers (the loader's; none: not checked)

    def actions(
        self, where: Where, items: list[Any], names: Names, index_prefix: str = ""
    ) -> list[ActionSpec]:
        """The actions of the list at `where` that have no mistake (the others are reported)."""
        specs: list[ActionSpec] = []
        for position, item in enumerate(items):
            spec = self.action(where.child(position), item, names, f"{index_prefix}{position}")
            if spec is not None:
                specs.append(spec)
            # Later actions (not earlier ones) may use its result; even when the action itself
            # has a mistake, so that one mistake is reported once, not again in every use.
            if isinstance(item, dict):
                if isinstance(item.get("as"), str):
                    names.known.add(item["as"])
                    names.own.add(item["as"])
                for word in item:
                    if word in ACTIONS and (result_var := ACTIONS[word].result_var):
                        names.known.add(result_var)
                        names.own.add(result_var)
        return specs

    def action(self, where: Where, item: Any, names: Names, index: str) -> ActionSpec | None:
        if not isinstance(item, dict):
            where.report(
                'an action is a mapping like reply: "Hello"', "start it with an action word and a colon"
            )
            return None
        kinds = [k for k in item if k not in ACTION_OPTIONS]
        for word in kinds:  # `if:` with `then:` and `else:` beside it is one action
            if word in ACTIONS and ACTIONS[word].siblings:
                kinds = [k for k in kinds if k not in ACTIONS[word].siblings]
                stray = [k for k in kinds if k != word and k not in ACTIONS]
                if stray:  # `ask:` with `wiat: 5m` beside it: a misspelt key, not a second action
                    beside = (*ACTIONS[word].siblings, *ACTION_OPTIONS)
                    for key in stray:
                        hint = did_you_mean(str(key), beside) or f"beside {word}: go {', '.join(beside)}"
                        where.report(f"{word}: unknown key {key!r}", hint, at=(key,), key=True)
                    return None
                break
        if len(kinds) != 1:
            what = "no action" if not kinds else f"several actions ({', '.join(map(str, kinds))})"
            where.report(f"{what} in one item", "write one action per `-` item")
            return None
        name = str(kinds[0])
        kind = ACTIONS.get(name)
        if kind is None:
            where.report(f"unknown action {name!r}", did_you_mean(name, ACTIONS), at=(name,), key=True)
            return None
        options = self.options(where, item)
        if options is None:
            return None
        params = kind.params_of(item)
        nested: tuple[ActionSpec, ...] = ()
        if kind.nested and isinstance(params, dict) and isinstance(params.get(kind.nested), list):
            inside = where.child(name, kind.nested)
            nested = tuple(self.actions(inside, params[kind.nested], names.nested(), f"{index}."))
        elif kind.branches is not None:
            nested = check_branches(self, where, kind, params, names, index)
        if not self.params_valid(where, name, params) or not self.templates_valid(where, name, params, names):
            return None
        if not self.static_checks(where, name, params):
            return None
        return ActionSpec(
            kind=name, params=params, index=index, location=where.location, nested=nested, **options
        )

    def options(self, where: Where, item: dict[str, Any]) -> dict[str, Any] | None:
        """The options beside the action word, as ActionSpec fields; None after a mistake."""
        found: dict[str, Any] = {}
        ok = True
        if "retry" in item:
            try:
                found["retry"] = RetryPolicy.model_validate(item["retry"])
            except ValidationError as exc:
                where.child("retry").prefixed("retry: ").report_validation(exc, RetryPolicy.model_fields)
                ok = False
        if "timeout" in item:
            try:
                found["timeout"] = parse_duration(item["timeout"])
            except (ValueError, TypeError) as exc:
                where.report(f"timeout: {exc}", at=("timeout",))
                ok = False
        if "as" in item:
            result_as = found["result_as"] = item["as"]
            if not isinstance(result_as, str) or not _IDENTIFIER.match(result_as) or result_as in VARIABLES:
                where.report(
                    f"as: {result_as!r} cannot name a result",
                    "use a new word of letters, digits and _ (not a variable like text or sender)",
                    at=("as",),
                )
                ok = False
        if "uncertain" in item:
            found["uncertain"] = item["uncertain"]
            if item["uncertain"] not in get_args(UncertainPolicy):
                where.report(
                    f"uncertain: {item['uncertain']!r} is not a policy",
                    "use resend, skip or dead_letter",
                    at=("uncertain",),
                )
                ok = False
        return found if ok else None

    def params_valid(self, where: Where, name: str, params: Any) -> bool:
        """Validate parameters as written: a template may stand where a number or yes/no goes."""
        kind = ACTIONS[name]
        try:
            kind.params.model_validate(params)
        except ValidationError as exc:
            real = [e for e in exc.errors(include_url=False) if not _is_template_value(e.get("input"))]
            mapping = isinstance(where.value(name), dict) or bool(kind.siblings)
            base = where if kind.siblings else where.child(name) if mapping else where
            for err in real:
                loc = item_loc(kind, tuple(err["loc"])) if mapping else ()
                if err["type"] == "extra_forbidden":
                    field_name = str(loc[-1]) if loc else ""
                    written = [f.alias or n for n, f in kind.params.model_fields.items()]  # `for`, not `for_`
                    hint = did_you_mean(field_name, written)
                    base.report(f"{name}: unknown parameter {field_name!r}", hint, at=loc, key=True)
                else:
                    label = ".".join(str(p) for p in err["loc"]) or "value"
                    base.report(f"{name}: {label}: {err['msg']}", f"for example {kind.example}", at=loc)
            return not real
        return True

    def static_checks(self, where: Where, name: str, params: Any) -> bool:
        """The kind's own load-time checks (a pool file exists…), when its parameters are final."""
        check = ACTIONS[name].static_check
        if check is None:
            return True
        try:
            model = ACTIONS[name].params.model_validate(params)
        except ValidationError:
            return True  # templated values: checked when they render
        found = check(model, where.file.path.parent)
        for message, hint in found:
            where.report(f"{name}: {message}", hint, at=(name,))
        return not found

    def secrets_valid(self, where: Where, name: str, params: Any) -> bool:
        skip = {ACTIONS[name].nested, *ACTIONS[name].holds}
        own = {k: v for k, v in params.items() if k not in skip} if isinstance(params, dict) else params
        names = secrets.referenced(own)
        if names and not ACTIONS[name].uses_secrets:
            where.report(
                f"{name}: secrets cannot be used here",
                "secrets go only to other systems (webhook), never into WhatsApp messages",
                at=(name,),
            )
            return False
        ok = True
        for problem in secrets.problems(names, self.env):
            where.report(f"{name}: {problem.message}", problem.hint, at=(name,), warning=not problem.fatal)
            ok = ok and not problem.fatal
        return ok

    def templates_valid(self, where: Where, name: str, params: Any, names: Names) -> bool:
        """Every template of the parameters of `name` (written at `where`) parses and names what exists."""
        if not self.secrets_valid(where, name, params):
            return False
        known = names.known | {"secrets"} if ACTIONS[name].uses_secrets else names.known
        known = known | set(ACTIONS[name].item_vars)  # {{ person.name }} in a broadcast's text
        ok = True
        kind = ACTIONS[name]
        skip = {n for n in (kind.nested, *kind.holds) if n}
        mapping = isinstance(where.value(name), dict)
        for loc, text in strings_in(params, skip=skip):
            at = item_loc(kind, loc) if kind.siblings else (name, *loc) if mapping else (name,)
            try:
                used = names_used(text)
            except TemplateError as exc:
                where.report(f"{name}: {exc}", "templates look like {{ sender.name }}", at=at)
                ok = False
                continue
            for unknown in sorted(used - known):
                where.report(f"{name}: unknown variable {unknown!r}", did_you_mean(unknown, known), at=at)
                ok = False
            for message, hint in reachability.unknown_fields(fields_of(text), FIELDS, names.own):
                where.report(f"{name}: {message}", hint, at=at)
                ok = False
            for limit in template_problems(text):
                message = f"{name}: the template cannot run within its limits: {limit}"
                where.report(message, LIMITS_HINT, at=at, warning=True)
            in_url = len(loc) == 1 and loc[0] in ACTIONS[name].url_params and is_template(text)
            if in_url and (problem := urls.template_problem(text)):
                where.report(f"{name}: {loc[0]}: {problem}", _URL_HINT, at=at)
                ok = False
        return ok


@cache
def names_used(text: str) -> frozenset[str]:
    # the same template text is often written in many rules: parse it once per process
    return frozenset(_names_used(text))


@cache
def fields_of(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(_fields_used(text))


def _is_template_value(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def item_loc(kind: ActionKind[Any], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A place in the parameters of a kind written with siblings, as a place in the item."""
    return (kind.name, *loc[1:]) if loc and loc[0] == kind.shorthand else loc


def strings_in(
    value: Any, loc: tuple[Any, ...] = (), skip: Collection[str] = ()
) -> Iterable[tuple[tuple[Any, ...], str]]:
    """Every string inside `value` with its path (the parameters holding actions skipped)."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if not (loc == () and k in skip):
                yield from strings_in(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings_in(v, (*loc, i))
