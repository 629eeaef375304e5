"""Safe expressions for the `expr:` trigger: simpleeval over plain data, the only simpleeval place.

    expr: len(text) < 200 and sender.number.startswith("44")   # no: methods are not available
    expr: len(text) < 200 and startswith(sender.number, "44")  # yes: whitelisted functions

Expressions see the same variables as templates (`botengine.rules.variables`), converted to plain
dicts, lists, strings and numbers, so nothing reachable has methods that lead to the interpreter.
`a.b` on a dict reads the key `b` (so `sender.name` works as in templates); as in templates, a
field the data does not have is None, and so is a field of None (`media.mimetype` on a text
message, `payload.replyTo.id` on a message that quotes nothing); `check` reports unknown fields
of the named variables. Attribute access on anything else, and every method call, is refused.
Parsed once at load time (`compile_expression`), evaluated per event.

Work has a budget (`botengine.budget`): powers, products, repetition, format widths and results
are checked before they run (`10**4000000` is refused at once), every list, tuple or mapping an
expression builds is weighed (`[[[x] * 2] * 2] * 2`, twenty deep, is a million times longer as
text than it looks, and one `str()` or `==` of it would run for minutes), every step is
counted, CPU time is the backstop. Over budget: BudgetExceededError, and the event goes to the
dead-letter queue.
`static_problems` tells `check` about a constant part that can never fit.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import simpleeval

from botengine import budget
from botengine.errors import BudgetExceededError, ExpressionError


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, str) and isinstance(needle, str):
        return needle.casefold() in haystack.casefold()
    return bool(needle in haystack)


def _round(number: Any, ndigits: Any = None) -> Any:
    budget.round_digits(ndigits)
    return round(number, ndigits)


def _startswith(text: Any, prefix: Any) -> bool:
    return isinstance(text, str) and isinstance(prefix, str) and text.casefold().startswith(prefix.casefold())


def _endswith(text: Any, suffix: Any) -> bool:
    return isinstance(text, str) and isinstance(suffix, str) and text.casefold().endswith(suffix.casefold())


# The whole vocabulary of functions an expression may call. Plain functions over plain data.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "strip": lambda s: str(s).strip(),
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "round": _round,
    "contains": _contains,
    "startswith": _startswith,
    "endswith": _endswith,
}

_CONSTANTS = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}


# simpleeval's own limits let `4000000 ** 4000000` through: ours are checked before the work
_OPERATORS = {
    **simpleeval.DEFAULT_OPERATORS,
    ast.Add: budget.add,
    ast.Mult: budget.multiply,
    ast.Pow: budget.power,
    ast.Mod: budget.modulo,
}


_PLAIN = frozenset({int, float, str, bool, type(None), bytes, complex})

# Nodes whose value is built by the expression itself (a variable's value is the event's, and the
# event is no larger than the largest body the receiver accepts).
_BUILDERS = (
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.BinOp,
    ast.ListComp,
    ast.GeneratorExp,
    ast.DictComp,
    ast.Call,
)


class _PlainEval(simpleeval.EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval where `x.y` is only ever a key lookup in a dict, and None when it is missing;
    every step counted against the budget, every value built weighed."""

    def _eval(self, node: ast.AST) -> Any:
        budget.tick()
        value = super()._eval(node)
        if isinstance(node, _BUILDERS):
            budget.check_weight(value, "building")
        return value

    def _check_disallowed_items(self, item: Any) -> None:
        """simpleeval's look for modules and forbidden functions inside every value, made to look
        at each part once: its own walk follows a list held twice twice, so a value that doubles
        at every level took minutes before anything could weigh it."""
        if type(item) in _PLAIN:  # the usual value: nothing to look into
            return
        seen: set[int] = set()
        stack = [item]
        while stack:
            value = stack.pop()
            if type(value) in _PLAIN or id(value) in seen:
                continue
            seen.add(id(value))
            if len(seen) % 4096 == 0:
                budget.check_time()
            if isinstance(value, list | tuple | set | frozenset):
                stack.extend(value)
            elif isinstance(value, dict):
                stack.extend(value.values())
            else:
                super()._check_disallowed_items(value)  # modules, forbidden functions

    def _eval_joinedstr(self, node: ast.JoinedStr) -> str:
        # simpleeval's own check never adds up the parts: f"{s}{s}{s}…" had no limit
        pieces: list[str] = []
        size = 0
        for part in node.values:
            value = self._eval(part)
            budget.check_weight(value, "writing")
            pieces.append(str(value))
            size += len(pieces[-1])
            budget.check_size("", size, "joining")
        return "".join(pieces)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        if node.format_spec is not None:  # f"{x:>100000000}"
            budget.check_format_spec(str(self._eval(node.format_spec)))
        return super()._eval_formattedvalue(node)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_"):
            raise simpleeval.FeatureNotAvailable(f"'{node.attr}' is not available")
        value = self._eval(node.value)
        if isinstance(value, Mapping):
            return value.get(node.attr)
        if value is None:
            return None
        raise simpleeval.FeatureNotAvailable(
            f"'.{node.attr}' on a {type(value).__name__}: use a function instead, e.g. lower(x)"
        )

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        key = self._eval(node.slice)
        if isinstance(container, Mapping) or container is None:
            return container.get(key) if container is not None else None
        return container[key]

    def _eval_call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute):
            raise simpleeval.FeatureNotAvailable(method_call_problem(node.func.attr))
        return super()._eval_call(node)


def method_call_problem(method: str) -> str:
    return f"'.{method}(…)' is a method call, which expressions cannot make: use a function, e.g. lower(x)"


@dataclass(frozen=True)
class Expression:
    """A parsed expression: `source` as written, `names` the variables it reads."""

    source: str
    tree: ast.AST
    names: frozenset[str]

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        """The value for these variables; ExpressionError in plain words when it fails."""
        evaluator = _PlainEval(operators=_OPERATORS, functions=FUNCTIONS, names={**_CONSTANTS, **variables})
        try:
            with budget.limit("the expression", budget.EXPRESSION_SECONDS):
                return evaluator.eval(self.source, previously_parsed=self.tree)
        except BudgetExceededError as exc:
            raise BudgetExceededError(f"{exc}, in the expression {self.source!r}") from exc
        except (simpleeval.IterableTooLong, simpleeval.NumberTooHigh) as exc:  # simpleeval's own limits
            raise BudgetExceededError(f"{exc}, in the expression {self.source!r}") from exc
        except simpleeval.NameNotDefined as exc:
            raise ExpressionError(f"expression {self.source!r}: unknown variable {exc.name!r}") from exc
        except Exception as exc:  # any failure on this event's data is the expression's failure
            raise ExpressionError(f"expression {self.source!r} failed: {type(exc).__name__}: {exc}") from exc


def compile_expression(source: str) -> Expression:
    """Parse `source`; ExpressionError names the syntax mistake."""
    if not source.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"expression syntax error{where}: {exc.msg}") from exc
    return Expression(source.strip(), tree, frozenset(_names_read(tree)))


def _names_read(tree: ast.AST) -> set[str]:
    """Top-level variable names an expression reads (function names and comprehension targets aside)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            bound.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id not in bound and node.id not in _CONSTANTS
    } - called


def unknown_functions(expression: Expression) -> set[str]:
    """Functions an expression calls that are not in FUNCTIONS (for `check`)."""
    return {
        node.func.id
        for node in ast.walk(expression.tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in FUNCTIONS
    }


def method_calls(expression: Expression) -> list[str]:
    """Methods an expression calls (`text.upper()`): each fails at every evaluation (for `check`)."""
    return [
        node.func.attr
        for node in ast.walk(expression.tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    ]


def fields_read(expression: Expression) -> set[tuple[str, str]]:
    """(variable, field) for every `name.field` and `name['field']` an expression reads (for `check`)."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(expression.tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found.add((node.value.id, node.attr))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if isinstance(key, str):
                found.add((node.value.id, key))
    return found


def static_problems(expression: Expression) -> list[str]:
    """Constant parts that can never be evaluated within the budget (for `check` warnings)."""
    parts = (n for n in ast.walk(expression.tree) if isinstance(n, ast.BinOp))
    return budget.constant_problems(parts, _constant)[:1]  # the outermost; inner ones repeat it


def _constant(node: ast.AST) -> Any:
    """The value of a constant part (numbers, text, + * ** %, unary minus) under the budget."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_constant(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        try:
            return _OPERATORS[type(node.op)](_constant(node.left), _constant(node.right))
        except BudgetExceededError:
            raise
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise budget.NotConstant from exc
    raise budget.NotConstant
