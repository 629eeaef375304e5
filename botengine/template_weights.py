"""What a value weighs in a template: refused before it is shown, compared, hashed or handed on
when it is too long as text (`budget.weight`).

A list that holds a list twice, twenty levels deep, looks small and is a million times longer
as text; `str()`, `==` and a hash of it are each one C call that no loop step or clock can
interrupt. So the sandbox (template_limits.py) weighs a value first wherever one of those
happens: on output, in `~`, `==`/`in` and the other comparisons, a `{…}` key, `x[key]`, and what
is given to a filter, a test or a method.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from jinja2.utils import Namespace

from botengine import budget


def _namespace_parts(value: Any) -> Iterable[Any] | None:
    """What a `namespace()` holds (it prints all of it)."""
    if isinstance(value, Namespace):
        attributes: dict[str, Any] = object.__getattribute__(value, "_Namespace__attrs")
        return [*attributes.keys(), *attributes.values()]
    return None


def weigh(value: Any, doing: str) -> None:
    """Refuse a value too long as text to be shown, compared, hashed or handed on (see budget.weight)."""
    budget.check_weight(value, doing, _namespace_parts)


def sized_join(pieces: Iterable[Any], doing: str) -> str:
    """The pieces joined, once their total length is known to fit."""
    texts = list(pieces)
    budget.check_size("", sum(len(text) for text in texts), doing)
    return "".join(texts)


# Filters that neither write a value out nor compare it: weighing what they are given is waste.
UNWEIGHED = frozenset(
    {
        "_loop",
        "_weighed",
        "_concat",
        "join",
        "length",
        "count",
        "first",
        "last",
        "default",
        "d",
        "list",
        "attr",
        "random",
        "items",
        "batch",
        "slice",
        "map",
        "select",
        "reject",
        "sum",
    }
)


def weighing(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """The filter or test `name`, refusing values too long as text (see `weigh`)."""

    @functools.wraps(original)  # keeps Jinja's pass_context/pass_environment marks
    def checked(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            weigh(value, f"'{name}' on")
        return original(*args, **kwargs)

    return checked


def weighed(value: Any) -> Any:
    """A value about to be compared or hashed (`==`, `in`, a dictionary's key)."""
    weigh(value, "comparing")
    return value
