"""Templates in action parameters: Jinja2 in a sandbox, where event data is only ever data.

A template is compiled once, from the rules file; event fields enter only as variables, so a
message whose text is `{{ 7*7 }}` is echoed as that text, never evaluated. Undefined names raise
(StrictUndefined) instead of rendering as empty text, and `check` lists every name a template uses
so a typo is caught before the rule first fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from botengine.errors import TemplateError

_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # WhatsApp text and JSON bodies, not HTML
    keep_trailing_newline=True,
)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@lru_cache(maxsize=4096)
def compile_template(text: str) -> jinja2.Template:
    """The compiled template; raises TemplateError naming the syntax mistake."""
    try:
        return _ENV.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template syntax error: {exc.message} (line {exc.lineno} of the template)"
        ) from exc


def names_used(text: str) -> set[str]:
    """Top-level variable names a template reads (for `check`)."""
    if not is_template(text):
        return set()
    try:
        return set(meta.find_undeclared_variables(_ENV.parse(text)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}") from exc


def render_text(text: str, variables: Mapping[str, Any]) -> str:
    if not is_template(text):
        return text
    try:
        return compile_template(text).render(variables)
    except TemplateError:
        raise
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"unknown variable in template: {exc.message}") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateError(f"the template tried something unsafe: {exc}") from exc
    except Exception as exc:  # a filter or operation failed on this event's data
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from exc


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside `value` (strings, lists and mappings, recursively)."""
    if isinstance(value, str):
        return render_text(value, variables)
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    return value
