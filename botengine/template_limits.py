"""What a template may do: the budgeted Jinja sandbox `templating.py` renders with.

Templates are written by people and render on the event loop, so their work has a budget
(`botengine.budget`):

- powers, products, repetition, `+`, printf `%`, `str.format` specs and the filters and `str`
  methods that size text (center, indent, wordwrap, ljust, replace, join…) are checked *before*
  they run: `{{ 'a' * 10**9 }}` is refused at once, never allocated;
- every loop step is counted, nested loops included (`{% for %}` iterables and map/select are
  wrapped), and CPU time is looked at every few steps;
- the rendered text has a size limit;
- Jinja's constant folding is off (`optimized=False`, and a finalize that takes the context), so
  nothing in a template runs while the rules load: `{{ 10**(10**7) }}` used to freeze the
  engine for 19 s at load.

Over budget: BudgetExceededError. `static_problems` tells `check` what can never fit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

from botengine import budget
from botengine.errors import BudgetExceededError

_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": budget.add,
    "*": budget.multiply,
    "**": budget.power,
    "%": budget.modulo,
}
# str methods whose first argument sizes the result: "x".ljust(10**9)
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_SLOW_TEXT = 100_000  # characters: pure-Python filters (wordwrap, urlize, pprint) refuse longer input


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with every operation that can grow without bound checked first."""

    intercepted_binops = frozenset(_BINOPS)

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)  # no constant folding: see the module doc
        self.globals.pop("lipsum", None)  # lorem ipsum of any size: no use in a message
        self.filters.update(_FILTERS)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget.tick()
        return _BINOPS[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget.tick()
        args = _check_call(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str):
            budget.check_size(result, len(result), "building")
        return result


def _check_call(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    """Before a method call on text: would its result be too big? The arguments to call with."""
    target = getattr(func, "__wrapped__", func)  # the sandbox wraps str.format
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if not isinstance(owner, str):
        return args
    if name == "join" and args:  # the items are counted and sized before they are joined
        items = [str(item) for item in _loop(args[0])]
        budget.check_size(owner, sum(map(len, items)) + len(owner) * len(items), "joining")
        return (items, *args[1:])
    if name in _WIDTH_METHODS and args:
        budget.check_width(args[0])
    elif name in ("format", "format_map"):
        budget.check_format_string(owner, args, args[0] if name == "format_map" and args else kwargs)
    elif name == "replace" and len(args) >= 2:
        budget.check_size(owner, _replaced_size(owner, str(args[0]), str(args[1])), "replacing")
    return args


def _replaced_size(text: str, old: str, new: str) -> int:
    count = len(text) + 1 if not old else text.count(old)
    return len(text) + count * (len(new) - len(old))


# --- filters whose arguments size their result ---------------------------------------------------


def _guard(name: str, check: Callable[..., None]) -> Callable[..., Any]:
    """The built-in filter `name`, with `check` run on its arguments first."""
    original = FILTERS[name]
    passed = 1 if _PassArg.from_obj(original) is not None else 0  # the context Jinja passes first

    @functools.wraps(original)  # keeps Jinja's pass_context/pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget.tick()
        check(*args[passed:], **kwargs)
        return original(*args, **kwargs)

    return guarded


def _center(value: Any, width: Any = 80) -> None:
    budget.check_width(width)


def _indent(s: Any, width: Any = 4, *rest: Any, **options: Any) -> None:
    text, step = str(s), width if isinstance(width, int) else len(str(width))
    budget.check_width(step)
    budget.check_size(text, len(text) + (text.count("\n") + 1) * step, "indenting")


def _wordwrap(s: Any, width: Any = 79, *rest: Any, wrapstring: Any = None, **options: Any) -> None:
    text = str(s)
    _slow_text(text, "wordwrap")
    joiner = str(wrapstring if wrapstring is not None else (rest[1] if len(rest) > 1 else "\n"))
    if isinstance(width, int) and width > 0:
        budget.check_size(text, len(text) + (len(text) // width + 1) * len(joiner), "wrapping")


def _format(value: Any, *args: Any, **kwargs: Any) -> None:
    budget.check_printf(str(value), args if args else tuple(kwargs.values()))


def _replace(s: Any, old: Any, new: Any, count: Any = None) -> None:
    budget.check_size(str(s), _replaced_size(str(s), str(old), str(new)), "replacing")


def _count_arg(value: Any, count: Any, *rest: Any, **options: Any) -> None:
    if isinstance(count, int) and count > budget.MAX_ITEMS:
        budget.check_size([], count, "splitting into parts")


def _round(value: Any, precision: Any = 0, *rest: Any, **options: Any) -> None:
    budget.round_digits(precision)


def _slow(name: str) -> Callable[..., None]:
    def check(value: Any, *args: Any, **kwargs: Any) -> None:
        _slow_text(str(value), name)

    return check


def _slow_text(text: str, name: str) -> None:
    if len(text) > _SLOW_TEXT:
        raise BudgetExceededError(f"{name} on {len(text):,} characters (the limit is {_SLOW_TEXT:,})")


@jinja2.pass_eval_context
def _join(ctx: Any, value: Iterable[Any], d: Any = "", attribute: Any = None) -> str:
    items = list(_loop(value))
    if attribute is None:  # sized before joining: 99,999 copies of a long text must not be built
        size = sum(len(str(item)) for item in items) + len(str(d)) * max(len(items) - 1, 0)
        budget.check_size("", size, "joining")
    joined: str = FILTERS["join"](ctx, items, d, attribute)
    budget.check_size(joined, len(joined), "joining")
    return joined


def _ticking(name: str) -> Callable[..., Any]:
    """A filter that yields items one by one (map, select…), with a budget tick per item."""
    original = FILTERS[name]

    @functools.wraps(original)
    def ticking(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return _loop(original(*args, **kwargs))

    return ticking


def _loop(iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps every `{% for %}`'s iterable: one budget tick per step, nested loops included."""
    for item in iterable:
        budget.tick()
        yield item


def _concat(parts: list[Any]) -> str:
    """`a ~ b`: joined text, refused when too long."""
    texts = [str(part) for part in parts]
    budget.check_size("", sum(map(len, texts)), "joining")
    return "".join(texts)


class _Budgeted(NodeTransformer):
    """Routes loops and `~` through the budget: Jinja compiles both to plain Python otherwise."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_loop", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, "_concat", [], [], None, None, lineno=node.lineno)


_FILTERS: dict[str, Callable[..., Any]] = dict(
    _loop=_loop,
    _concat=_concat,
    join=_join,
    center=_guard("center", _center),
    indent=_guard("indent", _indent),
    wordwrap=_guard("wordwrap", _wordwrap),
    format=_guard("format", _format),
    replace=_guard("replace", _replace),
    slice=_guard("slice", _count_arg),
    batch=_guard("batch", _count_arg),
    round=_guard("round", _round),
    urlize=_guard("urlize", _slow("urlize")),
    pprint=_guard("pprint", _slow("pprint")),
    **{name: _ticking(name) for name in ("map", "select", "reject", "selectattr", "rejectattr")},
)


def limit(tree: nodes.Template) -> nodes.Template:
    """A parsed template with its loops and `~` routed through the budget."""
    limited: nodes.Template = _Budgeted().visit(tree)
    return limited


def collect(pieces: Iterator[str], spent: budget.Budget) -> str:
    """The rendered text, refused once it grows past the size limit."""
    out: list[str] = []
    size = 0
    for piece in pieces:
        size += len(piece)
        budget.check_size(piece, size, "the rendered")
        spent.check_time()
        out.append(piece)
    return "".join(out)


# --- what `check` can tell before any event ---------------------------------------------------------

_CONST_OPS: dict[type[nodes.Node], Callable[[Any, Any], Any]] = {
    nodes.Pow: budget.power,
    nodes.Mul: budget.multiply,
    nodes.Add: budget.add,
    nodes.Mod: budget.modulo,
}
_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "format": _format,
    "replace": _replace,
    "slice": _count_arg,
    "batch": _count_arg,
    "round": _round,
}


def static_problems(tree: nodes.Template) -> list[str]:
    """Parts of a parsed template that can never render within the budget: constant huge powers,
    repetitions, widths, and nested `range` loops with more steps than allowed (for `check`)."""
    problems = budget.constant_problems(tree.find_all((nodes.BinExpr, nodes.Filter)), _constant)
    steps = _loop_steps(tree, 1)
    if steps > budget.MAX_LOOP_STEPS:
        problems.append(
            f"its loops run {steps:,} steps (nested loops multiply; the limit is {budget.MAX_LOOP_STEPS:,})"
        )
    return problems[:1]


def _constant(node: nodes.Node) -> Any:
    """The value of a constant expression, computed under the budget's size checks."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg):
        return -_constant(node.node)
    if isinstance(node, nodes.List | nodes.Tuple):
        return [_constant(item) for item in node.items]
    args: list[Any]
    if isinstance(node, nodes.BinExpr) and type(node) in _CONST_OPS:
        args = [_constant(node.left), _constant(node.right)]
        return _safely(_CONST_OPS[type(node)], args, {})
    if isinstance(node, nodes.Filter) and node.name in _FILTER_CHECKS and node.node is not None:
        args = [_constant(node.node), *(_constant(arg) for arg in node.args)]
        kwargs = {str(pair.key): _constant(pair.value) for pair in node.kwargs}
        _safely(_FILTER_CHECKS[node.name], args, kwargs)
        raise budget.NotConstant  # checked; its value is not needed
    raise budget.NotConstant


def _safely(func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    try:
        return func(*args, **kwargs)
    except BudgetExceededError:
        raise
    except Exception as exc:  # a type mistake: it fails on its own when it renders
        raise budget.NotConstant from exc


def _loop_steps(node: nodes.Node, factor: int) -> int:
    """The most loop steps along nested `{% for … in range(constants) %}`."""
    most = factor
    for child in node.iter_child_nodes():
        inner = factor
        if isinstance(child, nodes.For) and isinstance(child.iter, nodes.Call):
            call = child.iter
            if isinstance(call.node, nodes.Name) and call.node.name == "range":
                try:
                    inner = factor * len(range(*(_constant(arg) for arg in call.args)))
                except (budget.NotConstant, BudgetExceededError, TypeError, ValueError):
                    inner = factor
        most = max(most, _loop_steps(child, inner))
    return most
