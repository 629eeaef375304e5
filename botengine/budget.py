"""Limits on the work a template, an expression or a regex may do for one event.

Rules are written by people, not developers, and they run on the event loop: a template with
nested loops or `{{ 10**(10**7) }}` must fail fast with a plain message instead of freezing the
engine. Two kinds of limit:

- sizes, checked *before* the work is done (so the answer never depends on the machine):
  integer powers and products, repeated text or lists, format widths and results, loop steps,
  and the `weight` of a value (its length as text) before it is turned into text, compared or
  hashed: lists holding a list twice, nested twenty deep, are a million times longer as text
  than they look, and one `str()`, `==` or hash of them would run for minutes in one C call;
- time, a backstop: CPU seconds of the thread doing the work, checked every few loop steps.

    with budget.limit("the template", budget.TEMPLATE_SECONDS):
        ...                          # budget.tick() in loops; budget.multiply(a, b) and friends

Exceeding a limit raises BudgetExceededError (botengine.errors) saying which limit, in plain
words; the worker then dead-letters the event with that reason.
"""

from __future__ import annotations

import math
import re
import string
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botengine.errors import BudgetExceededError

MAX_TEXT = 1_000_000  # characters of one string built by a template or an expression (and of a rendering)
MAX_ITEMS = 100_000  # items of one list built by * or +
MAX_DIGITS = 4_300  # digits of an integer result (Python refuses to print longer ones anyway)
MAX_LOOP_STEPS = 100_000  # loop steps of one template rendering or expression, nested loops included
MAX_ROUND_DIGITS = 100  # round(x, n): |n|
MAX_WEIGHT = 4 * MAX_TEXT  # characters a value may have as text to be written out, compared or hashed
TEMPLATE_SECONDS = 0.1  # CPU time to render one action's templates (a usual one: well under 1 ms)
EXPRESSION_SECONDS = 0.1  # CPU time to evaluate one `expr:`
EVENT_SECONDS = 1.0  # time for all the triggers of all the rules one event meets
REGEX_SECONDS = 0.1  # one search by a `backtracking: true` regex

T = TypeVar("T")
_TIME_EVERY = 64  # loop steps between two looks at the clock (it costs ~1 µs)
_BITS_PER_DIGIT = math.log2(10)


@dataclass
class Budget:
    """The work one rendering or evaluation has done so far."""

    what: str  # "the template", "the expression": how messages name it
    seconds: float
    started: float = field(default_factory=time.thread_time)
    steps: int = 0

    def tick(self, steps: int = 1) -> None:
        """Count loop steps; look at the clock now and then."""
        self.steps += steps
        if self.steps > MAX_LOOP_STEPS:
            raise BudgetExceededError(
                f"{self.what} ran more than {MAX_LOOP_STEPS:,} loop steps (nested loops multiply)"
            )
        if self.steps // _TIME_EVERY != (self.steps - steps) // _TIME_EVERY:  # crossed a multiple
            self.check_time()

    def check_time(self) -> None:
        if time.thread_time() - self.started > self.seconds:
            raise BudgetExceededError(f"{self.what} took more than {self.seconds:g} s of work")


_current: ContextVar[Budget | None] = ContextVar("botengine_budget", default=None)


@contextmanager
def limit(what: str, seconds: float) -> Iterator[Budget]:
    """A budget for the work inside the block; a block inside another shares the outer one."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    budget = Budget(what, seconds)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def tick(steps: int = 1) -> None:
    """A loop step of the current budget (none outside `limit`: loading rules, say)."""
    budget = _current.get()
    if budget is not None:
        budget.tick(steps)


def check_time() -> None:
    """Look at the clock of the current budget (none outside `limit`)."""
    budget = _current.get()
    if budget is not None:
        budget.check_time()


# --- operations whose result size is known before they run --------------------------------------


def power(base: Any, exponent: Any) -> Any:
    """`base ** exponent`, refused when the integer result would have too many digits."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        digits = exponent * math.log10(abs(base))
        if digits > MAX_DIGITS:
            raise BudgetExceededError(
                f"{_short(base)} ** {_short(exponent)} would have about {_count(digits)} digits "
                f"(the limit is {MAX_DIGITS:,})"
            )
    return base**exponent


def multiply(left: Any, right: Any) -> Any:
    """`left * right`, refused when the text, list or integer would be too big."""
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, (*_TEXTS, list, tuple)) and isinstance(times, int):
            check_size(seq, len(seq) * times, "repeating")
    if isinstance(left, int) and isinstance(right, int):
        bits = left.bit_length() + right.bit_length()
        if bits > MAX_DIGITS * _BITS_PER_DIGIT:
            raise BudgetExceededError(
                f"a product with about {_count(bits / _BITS_PER_DIGIT)} digits (the limit is {MAX_DIGITS:,})"
            )
    return left * right


def add(left: Any, right: Any) -> Any:
    """`left + right`, refused when joined text or lists would be too long."""
    if isinstance(left, (*_TEXTS, list, tuple)) and isinstance(right, (*_TEXTS, list, tuple)):
        check_size(left, len(left) + len(right), "joining")
    return left + right


def modulo(left: Any, right: Any) -> Any:
    """`left % right`; for text, printf-style formatting whose widths are checked first."""
    if isinstance(left, str):
        check_printf(left, right)
    elif isinstance(left, bytes | bytearray):  # b"%s" % x formats the same way
        check_printf(bytes(left).decode("latin-1"), right)
    return left % right


def check_size(kind: Any, size: int, doing: str) -> None:
    """Refuse a string (or bytes) of more than MAX_TEXT characters or a list of more than MAX_ITEMS items."""
    if isinstance(kind, _TEXTS):
        if size > MAX_TEXT:
            raise BudgetExceededError(
                f"{doing} text would make {_count(size)} characters (the limit is {MAX_TEXT:,})"
            )
    elif size > MAX_ITEMS:
        raise BudgetExceededError(f"{doing} would make {_count(size)} items (the limit is {MAX_ITEMS:,})")


def check_width(width: Any, what: str = "a width") -> None:
    """A width, precision or count argument that sizes text (format specs, center, indent…)."""
    if isinstance(width, int | float) and abs(width) > MAX_TEXT:
        raise BudgetExceededError(f"{what} of {_count(width)} (the limit is {MAX_TEXT:,})")


_SPEC_NUMBERS = re.compile(r"\d+")
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsab%])")


def check_format_spec(spec: str) -> None:
    """A str.format / f-string spec such as `>100000000` or `.9999999f`."""
    for number in _SPEC_NUMBERS.findall(spec):
        check_width(int(number) if len(number) < 20 else MAX_TEXT + 1, "a format width")


def check_format_string(template: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Every spec of a `"…".format(…)` call (specs taken from the arguments, `{:{w}}`, too), and
    the size of the result: `'{0}' * 1000` formats one long value a thousand times."""
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # a malformed format string fails on its own when called
    values = [*args, *kwargs.values()]
    longest = max((weight(value) for value in values), default=0)
    size = len(template)
    for _text, name, spec, _conversion in fields:
        if name is None:
            continue
        size += longest
        if spec:
            check_format_spec(spec)
            size += sum(int(n) if len(n) < 20 else MAX_TEXT + 1 for n in _SPEC_NUMBERS.findall(spec))
            if "{" in spec:  # a nested field: its value comes from the arguments
                for value in values:
                    check_width(value, "a format width")
                    size += value if isinstance(value, int) and value > 0 else 0
    check_size("", size, "formatting")


def check_printf(template: str, args: Any) -> None:
    """Widths and precisions of `"%10s" % x`, including `*` ones taken from the arguments, and the
    size of the result (every conversion may print the longest value given)."""
    values = args if isinstance(args, tuple) else (args,)
    for width, precision in _PRINTF.findall(template):
        for number in (width, precision):
            if number == "*":
                for value in values:
                    check_width(value, "a format width")
            elif number:
                check_width(int(number) if len(number) < 20 else MAX_TEXT + 1, "a format width")
    longest = max((weight(value) for value in values), default=0)  # a mapping: all of it, at most
    size = len(template)
    for width, precision, kind in _CONVERSION.findall(template):
        if kind != "%":
            size += longest + sum(_number(n, values) for n in (width, precision))
    check_size("", size, "formatting")


def _number(text: str, values: Sequence[Any]) -> int:
    """A printf width or precision as a number (`*`: the largest taken from the arguments)."""
    if text == "*":
        return max((v for v in values if isinstance(v, int)), default=0)
    return int(text) if text and len(text) < 20 else (MAX_TEXT + 1 if text else 0)


def round_digits(ndigits: Any) -> None:
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        raise BudgetExceededError(f"rounding to {_count(ndigits)} digits (the limit is {MAX_ROUND_DIGITS})")


# --- how long a value is as text ---------------------------------------------------------------

_TEXTS = (str, bytes, bytearray)
_SCALARS = (str, bytes, bytearray, int, float, type(None))
_COLLECTIONS = (list, tuple, set, frozenset, KeysView, ValuesView, ItemsView)
_CLOCK_EVERY = 4096  # values weighed between two looks at the clock


Parts = Callable[[Any], Iterable[Any] | None]  # what an object other than a list or mapping holds


def _no_parts(value: Any) -> Iterable[Any] | None:
    return None


def weight(value: Any, parts: Parts = _no_parts, limit: int = MAX_WEIGHT) -> int:
    """About how many characters `str(value)` has: the work of writing it as text, comparing it or
    hashing it. A part held in several places counts at each place, as `str()` writes it out each
    time; `parts` says what other objects hold. Each part is weighed once (so a list holding a
    list twice, forty levels deep, costs forty steps), and weighing stops past `limit`."""
    leaf = _leaf(value)
    if leaf is not None:
        return leaf
    known: dict[int, int] = {}
    alive: list[Any] = []  # every part weighed stays referenced, so no id is reused meanwhile
    stack: list[tuple[Any, list[Any] | None, int]] = [(value, None, 0)]
    while stack:
        item, inner, own = stack.pop()
        if inner is not None:  # the parts that hold parts are weighed: now the whole
            total = own + sum(known.get(id(kid), 16) for kid in inner)
            known[id(item)] = total  # a part inside itself (a namespace holding itself) counts 16
            if total > limit:
                return total
            continue
        if id(item) in known:
            continue
        own = _frame(item)
        if own > limit:
            return own
        inner = []
        for kid in _parts(item, parts):
            if type(kid) is str:  # the usual part, without a call
                own += len(kid) or 1
                continue
            kid_weight = _leaf(kid)
            if kid_weight is None:
                inner.append(kid)
            else:
                own += kid_weight
        alive.append((item, inner))
        if len(alive) % _CLOCK_EVERY == 0:
            check_time()
        known[id(item)] = 16  # until it is finished: met again inside itself, it is a cycle
        stack.append((item, inner, own))
        stack.extend((kid, None, 0) for kid in inner if id(kid) not in known)
    return known[id(value)]


def _leaf(value: Any) -> int | None:
    """The weight of a value that holds no others (None for one that does)."""
    kind = type(value)
    if kind is str or kind is bytes:
        return len(value) or 1  # inside a list or mapping, its quotes are counted there
    if kind is int:
        return int(value.bit_length()) // 3 + 2
    if kind is float or kind is bool or value is None:
        return 24
    if isinstance(value, _TEXTS):
        return len(value) or 1
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 24
    return None


def _frame(value: Any) -> int:
    """Brackets, quotes, commas and colons around the parts of a list or mapping."""
    if isinstance(value, Mapping):
        return 2 + 8 * len(value)
    if isinstance(value, _COLLECTIONS):
        return 2 + 4 * len(value)
    return 16


def _parts(value: Any, parts: Parts) -> Iterable[Any]:
    if isinstance(value, Mapping):
        return [*value.keys(), *value.values()]
    if isinstance(value, _COLLECTIONS):
        return value
    return parts(value) or ()


def check_weight(value: Any, doing: str, parts: Parts = _no_parts) -> None:
    """Refuse to turn into text, compare or hash a value longer than MAX_WEIGHT as text (texts are
    sized where they are built: only what holds other values is weighed)."""
    if isinstance(value, _SCALARS):
        return
    if not isinstance(value, (Mapping, *_COLLECTIONS)) and parts(value) is None:
        return  # holds nothing that could be long (a loop, a macro, the template's context)
    if weight(value, parts) > MAX_WEIGHT:
        raise BudgetExceededError(
            f"{doing} a value of more than {MAX_WEIGHT:,} characters as text "
            "(a list that holds a list several times, nested, doubles at every level)"
        )


class NotConstant(Exception):
    """Raised by a `check`-time evaluator for a part whose value depends on the event."""


def constant_problems(parts: Iterable[T], evaluate: Callable[[T], object]) -> list[str]:
    """What `check` can tell: the budget problems of parts `evaluate` can compute without an
    event (it raises NotConstant for the others). The outermost part comes first."""
    problems = []
    for part in parts:
        try:
            evaluate(part)
        except BudgetExceededError as exc:
            problems.append(str(exc))
        except NotConstant:
            continue
    return problems


def _count(number: float) -> str:
    """A number for a message: 10,000,000, or about 1e+300 when it is huge."""
    if isinstance(number, int) and number.bit_length() > 49:
        return f"about 10^{int(number.bit_length() / _BITS_PER_DIGIT)}"
    return f"{number:,.0f}" if abs(number) < 1e15 else f"about {number:.0e}"


def _short(number: int) -> str:
    return str(number) if number.bit_length() < 64 else f"a number of {_count(number)}"
