"""What a template may do: the budgeted Jinja sandbox `templating.py` renders with.

Templates are written by people and render on the event loop, so their work has a budget
(`botengine.budget`):

- powers, products, repetition, `+`, printf `%`, `str.format` specs and the filters and `str`
  methods that size text (center, indent, wordwrap, ljust, replace, join…) are checked *before*
  they run: `{{ 'a' * 10**9 }}` is refused at once, never allocated;
- every loop step is counted, nested loops included (`{% for %}` iterables and map/select are
  wrapped), and CPU time is looked at every few steps;
- the rendered text has a size limit, and so has every text built inside a template (a macro, a
  `{% set %}` or `{% filter %}` block), joined only once its size is known;
- a value is weighed (`budget.check_weight`) before it is shown, compared, hashed or given to a
  filter, test or method: a list holding a list twice, twenty levels deep, is a million times
  longer as text than it looks, and `str()`, `==` or a hash of it is one C call that no loop
  step or clock can interrupt;
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
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

from botengine import budget
from botengine.errors import BudgetExceededError
from botengine.template_weights import UNWEIGHED, sized_join, weigh, weighed, weighing

_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": budget.add,
    "*": budget.multiply,
    "**": budget.power,
    "%": budget.modulo,
}
# text methods whose first argument sizes the result: "x".ljust(10**9)
_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})
_SLOW_TEXT = 100_000  # characters: pure-Python filters (wordwrap, urlize, pprint) refuse longer input


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with every operation that can grow without bound checked first."""

    intercepted_binops = frozenset(_BINOPS)

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, **options)  # no constant folding: see the module doc
        self.globals.pop("lipsum", None)  # lorem ipsum of any size: no use in a message
        self.filters.update(_FILTERS)
        self.filters.update({n: weighing(n, f) for n, f in self.filters.items() if n not in UNWEIGHED})
        tests: dict[str, Any] = dict(TESTS)
        self.tests.update({n: weighing(n, f) for n, f in tests.items()})

    @staticmethod
    def concat(pieces: Iterable[str]) -> str:
        """Jinja's join of a macro's, a `{% set %}` block's or a `{% filter %}` block's output."""
        return sized_join(pieces, "building")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget.tick()
        return _BINOPS[operator](left, right)

    def getitem(self, obj: Any, argument: Any) -> Any:
        weigh(argument, "looking up")  # a tuple as a key is hashed whole
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget.tick()
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        for value in (owner if isinstance(owner, list | tuple) else None, *args, *kwargs.values()):
            weigh(value, "calling a function with")  # list.count(x) compares every item with x
        args = _check_call(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str | bytes):
            budget.check_size(result, len(result), "building")
        return result


def _check_call(func: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    """Before a method call on text: would its result be too big? The arguments to call with."""
    target = getattr(func, "__wrapped__", func)  # the sandbox wraps str.format
    owner, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if isinstance(owner, int) and name == "to_bytes":  # (1).to_bytes(10**9, "big"): zeros
        budget.check_width(args[0] if args else kwargs.get("length", 1), "a length")
    if not isinstance(owner, str | bytes):
        return args
    if name == "join" and args:  # the items are counted and sized before they are joined
        items = list(_loop(args[0]))
        budget.check_size(owner, sum(budget.weight(i) for i in items) + len(owner) * len(items), "joining")
        return ([str(i) for i in items] if isinstance(owner, str) else items, *args[1:])
    if name in _WIDTH_METHODS and args:
        budget.check_width(args[0])
    elif name == "expandtabs":  # every tab may become `tabsize` spaces
        size = args[0] if args else kwargs.get("tabsize", 8)
        budget.check_width(size)
        budget.check_size(owner, len(owner) + owner.count(_TAB[type(owner)]) * max(int(size), 0), "expanding")
    elif name in ("format", "format_map") and isinstance(owner, str):
        budget.check_format_string(owner, args, args[0] if name == "format_map" and args else kwargs)
    elif name == "replace" and len(args) >= 2:
        budget.check_size(owner, _replaced_size(owner, args[0], args[1]), "replacing")
    elif name == "translate" and args and isinstance(args[0], Mapping):  # a letter into a long text
        longest = max((budget.weight(v) for v in args[0].values()), default=1)
        budget.check_size(owner, len(owner) * max(longest, 1), "translating")
    return args


_TAB: dict[type, Any] = {str: "\t", bytes: b"\t"}


def _replaced_size(text: Any, old: Any, new: Any) -> int:
    if type(old) is not type(text) or type(new) is not type(text):
        return len(text)  # the call fails on its own
    count: int = len(text) + 1 if not old else text.count(old)
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


@jinja2.pass_environment
def _sum(environment: Any, iterable: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    """`sum`, a step at a time: Python's sum() of lists copies the growing list at every item."""
    value = make_attrgetter(environment, attribute) if attribute is not None else (lambda item: item)
    total = start
    for item in _loop(iterable):
        total = budget.add(total, value(item))
    return total


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
        size = sum(budget.weight(item) for item in items) + len(str(d)) * max(len(items) - 1, 0)
        budget.check_size("", size, "joining")
    for item in items:
        weigh(item, "joining")
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
    for part in parts:
        weigh(part, "joining")
    return sized_join((str(part) for part in parts), "joining")


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

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        self.generic_visit(node)
        node.expr = _weighing_node(node.expr)
        for operand in node.ops:
            operand.expr = _weighing_node(operand.expr)
        return node

    def visit_Pair(self, node: nodes.Pair) -> nodes.Node:  # a key of a {…} literal is hashed
        self.generic_visit(node)
        node.key = _weighing_node(node.key)
        return node


def _weighing_node(expr: nodes.Expr) -> nodes.Expr:
    return nodes.Filter(expr, "_weighed", [], [], None, None, lineno=expr.lineno)


_FILTERS: dict[str, Callable[..., Any]] = dict(
    _loop=_loop,
    _concat=_concat,
    _weighed=weighed,
    sum=_sum,
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
