"""Templates in action parameters: Jinja2 in a sandbox, where event data is only ever data.

A template is compiled once, from the rules file; event fields enter only as variables, so a
message whose text is `{{ 7*7 }}` is echoed as that text, never evaluated.

Forgiving where people expect it, strict where a mistake hides: a value that is none renders as
empty text (`{{ sender.name }}` for a sender without a name), and so does a field of a value that
is not there (`{{ media.filename }}` on a message without media); a name that is no variable at
all (`{{ sendr.name }}`) fails, and `check` reports it, with every unknown field of a known
variable, before the rule first fires.

Rendering has a budget (loop steps, sizes, CPU time: `template_limits.py`); over it,
BudgetExceededError, and the event is dead-lettered with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.utils import missing

from botengine import budget
from botengine.errors import BudgetExceededError, TemplateError
from botengine.template_limits import LimitedSandbox, collect, limit
from botengine.template_limits import static_problems as _static_problems
from botengine.template_weights import weigh
from botengine.urls import encode_component


class _Undefined(jinja2.ChainableUndefined):
    """A missing field of a value: empty text, falsy, and its own fields missing too.

    A missing *name* (no variable of that name) behaves as StrictUndefined: every use fails.
    """

    __slots__ = ()

    def _check(self) -> None:
        if self._undefined_obj is missing:  # a name lookup, not a field of some value
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._check()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._check()
        return iter(())

    def __len__(self) -> int:
        self._check()
        return 0

    def __bool__(self) -> bool:
        self._check()
        return False

    def __eq__(self, other: object) -> bool:
        self._check()
        return type(self) is type(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        self._check()
        return id(type(self))

    def __contains__(self, item: object) -> bool:
        self._check()
        return False

    def __getattr__(self, name: str) -> _Undefined:
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        self._check()
        return self

    def __getitem__(self, name: str) -> _Undefined:  # type: ignore[override]
        self._check()
        return self


# Both finalizers take the context only so that Jinja never computes `{{ … }}` at compile time.


@jinja2.pass_context
def _finalize(context: Any, value: Any) -> Any:
    # a value that is none (a sender without a name) renders as nothing, not as "None"
    weigh(value, "showing")
    return "" if value is None else value


@jinja2.pass_context
def _url_component(context: Any, value: Any) -> str:
    # a value inside a URL stays inside its path segment or query value (botengine/urls.py)
    weigh(value, "showing")
    return encode_component(str("" if value is None else value))


_ENV = LimitedSandbox(
    undefined=_Undefined,
    finalize=_finalize,
    autoescape=False,  # WhatsApp text and JSON bodies, not HTML
    keep_trailing_newline=True,
)
# The same sandbox and rules, for URL templates: every {{ value }} percent-encoded on output.
_URL_ENV = _ENV.overlay(finalize=_url_component)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@lru_cache(maxsize=4096)
def compile_template(text: str, url: bool = False) -> jinja2.Template:
    """The compiled template (for a URL: values encoded); TemplateError names the syntax mistake."""
    env = _URL_ENV if url else _ENV
    try:
        tree = limit(env.parse(text))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template syntax error: {exc.message} (line {exc.lineno} of the template)"
        ) from exc
    tree.set_environment(env)
    return env.from_string(tree)


def names_used(text: str) -> set[str]:
    """Top-level variable names a template reads (for `check`)."""
    if not is_template(text):
        return set()
    try:
        return set(meta.find_undeclared_variables(_ENV.parse(text)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}") from exc


@lru_cache(maxsize=4096)
def _parse(text: str) -> nodes.Template:
    # for reading only (check's questions); the same text is often in many rules: parse it once
    try:
        return _ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error: {exc.message}") from exc


def fields_used(text: str) -> set[tuple[str, str]]:
    """(variable, field) for every `name.field` and `name['field']` a template reads (for `check`)."""
    if not is_template(text):
        return set()
    tree = _parse(text)
    found = {(n.node.name, n.attr) for n in tree.find_all(nodes.Getattr) if isinstance(n.node, nodes.Name)}
    for item in tree.find_all(nodes.Getitem):
        key = item.arg.value if isinstance(item.arg, nodes.Const) else None
        if isinstance(item.node, nodes.Name) and isinstance(key, str):
            found.add((item.node.name, key))
    return found


def field_reads(text: str, name: str) -> set[str] | None:
    """The fields of variable `name` a template reads (`state.order` → {"order"}); None when it
    reads the variable some other way (`{{ state }}`, `state[key]`), so any field may be read."""
    if not is_template(text):
        return set()
    tree = _parse(text)
    fields: set[str] = set()
    named: set[int] = set()  # the Name nodes read through a constant field
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        if not isinstance(node.node, nodes.Name) or node.node.name != name:
            continue
        field = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(field, str):
            fields.add(field)
            named.add(id(node.node))
    loose = any(n.name == name and id(n) not in named for n in tree.find_all(nodes.Name))
    return None if loose else fields


def render_text(text: str, variables: Mapping[str, Any], *, url: bool = False) -> str:
    """The rendered text; with `url`, every value percent-encoded as one URL component."""
    if not is_template(text):
        return text
    with budget.limit("the template", budget.TEMPLATE_SECONDS) as spent:
        try:
            return collect(compile_template(text, url).generate(variables), spent)
        except (TemplateError, BudgetExceededError):
            raise
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"unknown variable in template: {exc.message}") from exc
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"the template tried something unsafe: {exc}") from exc
        except Exception as exc:  # a filter or operation failed on this event's data
            raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from exc


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside `value` (strings, lists and mappings, recursively)."""
    with budget.limit("the template", budget.TEMPLATE_SECONDS):  # one budget for all of them
        if isinstance(value, str):
            return render_text(value, variables)
        if isinstance(value, list):
            return [render(item, variables) for item in value]
        if isinstance(value, dict):
            return {k: render(v, variables) for k, v in value.items()}
        return value


def static_problems(text: str) -> list[str]:
    """What `check` can tell before any event: parts of the template that can never fit its budget."""
    return _static_problems(_parse(text)) if is_template(text) else []
