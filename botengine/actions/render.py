"""From an action as written to the parameters it runs with: render templates, then validate.

The one rendering path: live delivery, `serve --dry-run`, `botengine dry-run` and inline tests all
call `render_action`, so what a dry run shows is exactly what would be sent.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from botengine import secrets, urls
from botengine.actions.base import ACTIONS, ActionSpec, Params
from botengine.errors import BudgetExceededError, PermanentError, TemplateError
from botengine.templating import is_template, render, render_text
from botengine.types import JSONDict


@dataclass(frozen=True)
class Rendered:
    """An action's parameters for one event; `shown` is the form fit for logs (secrets redacted)."""

    params: Params
    shown: JSONDict
    secrets: Mapping[str, str]


def describe_validation(exc: ValidationError) -> str:
    """A pydantic error as one plain sentence per problem."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(value)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def render_action(
    spec: ActionSpec, variables: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Rendered:
    """The action's parameters rendered for this event; PermanentError when they do not hold.

    Nested actions (`later: {do: …}`) are left as written: they render when they run.
    """
    kind = ACTIONS[spec.kind]
    raw = spec.params
    given: dict[str, str] = {}
    if kind.uses_secrets:
        names = secrets.referenced(raw)
        if names:
            env = os.environ if env is None else env
            if problems := secrets.problems(names, env):
                raise PermanentError(f"{spec.kind}{_where(spec)}: {'; '.join(map(str, problems))}")
            given = secrets.lookup(names, env)
        variables = {**variables, "secrets": given}
    as_written = {kind.nested, *kind.item_params, *kind.holds} - {None}
    if isinstance(raw, dict) and any(k in raw for k in (*as_written, *kind.url_params)):
        outer = {k: v for k, v in raw.items() if k not in as_written and k not in kind.url_params}
        rendered = _render(outer, variables, spec)
        rendered.update({k: _render_url(raw[k], variables, spec) for k in kind.url_params if k in raw})
        rendered.update({k: raw[k] for k in as_written if k in raw})  # they render later, per item
    else:
        rendered = _render(raw, variables, spec)
    try:
        params = kind.params.model_validate(rendered)
    except ValidationError as exc:
        detail = secrets.redact(describe_validation(exc), given)
        raise PermanentError(f"{spec.kind}{_where(spec)}: {detail}") from exc
    shown = secrets.redact(params.model_dump(mode="json", by_alias=True), given)
    return Rendered(params, shown, given)


def render_params(spec: ActionSpec, variables: Mapping[str, Any]) -> Params:
    """Only the parameters (for callers that never show them)."""
    return render_action(spec, variables).params


def _kind_at(spec: ActionSpec) -> str:
    return f"{spec.kind}, {spec.location}" if spec.location else spec.kind


def _where(spec: ActionSpec) -> str:
    return f" ({spec.location})" if spec.location else ""


def _render_url(template: Any, variables: Mapping[str, Any], spec: ActionSpec) -> Any:
    """A URL parameter: values percent-encoded, and still going where the rule says it goes."""
    if not isinstance(template, str) or not is_template(template):
        return template
    try:
        url = render_text(template, variables, url=True)
    except TemplateError as exc:
        raise PermanentError(f"{spec.kind}{_where(spec)}: {exc}") from exc
    except BudgetExceededError as exc:  # the reason first: `dlq list` shows the start of it
        raise BudgetExceededError(f"{exc} ({_kind_at(spec)})") from exc
    if not urls.same_origin(template, url):  # `check` refuses such templates; this is the backstop
        raise PermanentError(
            f"{spec.kind}{_where(spec)}: the URL's scheme and host must be written out in the rule; "
            "values may fill in its path and query only"
        )
    return url


def _render(value: Any, variables: Mapping[str, Any], spec: ActionSpec) -> Any:
    try:
        return render(value, variables)
    except TemplateError as exc:
        raise PermanentError(f"{spec.kind}{_where(spec)}: {exc}") from exc
    except BudgetExceededError as exc:  # not the action's failure: the event is dead-lettered
        raise BudgetExceededError(f"{exc} ({_kind_at(spec)})") from exc
