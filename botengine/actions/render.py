"""From an action as written to the parameters it runs with: render templates, then validate.

The one rendering path: live delivery, `serve --dry-run` and `botengine dry-run` all call
`render_params`, so what a dry run shows is exactly what would be sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from botengine.actions.base import ACTIONS, ActionSpec, Params
from botengine.errors import PermanentError, TemplateError
from botengine.templating import render


def describe_validation(exc: ValidationError) -> str:
    """A pydantic error as one plain sentence per problem."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(value)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def render_params(spec: ActionSpec, variables: Mapping[str, Any]) -> Params:
    """The action's parameters rendered for this event; PermanentError when they do not hold.

    Nested actions (`later: {do: …}`) are left as written: they render when they run.
    """
    kind = ACTIONS[spec.kind]
    raw = spec.params
    if kind.nested and isinstance(raw, dict) and kind.nested in raw:
        outer = {k: v for k, v in raw.items() if k != kind.nested}
        rendered = {**_render(outer, variables, spec), kind.nested: raw[kind.nested]}
    else:
        rendered = _render(raw, variables, spec)
    try:
        return kind.params.model_validate(rendered)
    except ValidationError as exc:
        where = f" ({spec.location})" if spec.location else ""
        raise PermanentError(f"{spec.kind}{where}: {describe_validation(exc)}") from exc


def _render(value: Any, variables: Mapping[str, Any], spec: ActionSpec) -> Any:
    try:
        return render(value, variables)
    except TemplateError as exc:
        where = f" ({spec.location})" if spec.location else ""
        raise PermanentError(f"{spec.kind}{where}: {exc}") from exc
