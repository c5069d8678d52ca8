"""What an expression may build: at most ``MAX_SIZE`` characters of text or items of a list.

Article authors are trusted less than template authors, and Jinja's sandbox keeps them
from Python's internals but not from ``{{ 'a' * 10**9 }}``, which would take gigabytes for
every recipient and for every anonymous visit of the archive. ``BoundedSandbox`` checks
each operation that can make a value much larger than its operands *before* it runs
(``*``, ``**``, ``%`` and ``+``; the ``str`` methods and filters that pad, repeat, replace,
join or format, with their widths and counts; ``range`` is Jinja's own, held to 100,000
items, and ``lipsum`` is gone), and the
size of every value calls and filters give back, so that no step allocates much more than
the limit. Lists count their items and what is in them (a list of a thousand references
to one long text is as large as the text a thousand times, which ``join`` would make).
"""

from __future__ import annotations

import inspect
import math
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import wraps
from typing import Any

from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

from mailer.exceptions import TooLarge

__all__ = ["MAX_INT_BITS", "MAX_SIZE", "BoundedSandbox", "check_size", "size_of"]

MAX_SIZE = 100_000
MAX_INT_BITS = 100_000
# Filters of one value that never make it larger: they stay unwrapped, because the
# per-recipient fast path calls them for every message.
_PLAIN_FILTERS = frozenset(
    {"default", "d", "upper", "lower", "title", "capitalize", "trim", "string", "length"}
)
# Filters and str methods whose whole-number arguments are widths or counts of what they
# make; elsewhere a number is a value (``'%d points' | format(2500000)``).
_WIDTH_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice"})
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})
_SEQUENCES = (list, tuple, set, frozenset)
_SIZED = (str, bytes, range, dict, *_SEQUENCES)
# A %-conversion's width and precision: %-10.3f, %*d, %(name)20s.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def size_of(value: Any, limit: int = MAX_SIZE) -> int:
    """Characters of text plus items of lists, tuples, sets and dicts, counted through
    nested ones; counting stops once it passes ``limit``."""
    if isinstance(value, str | bytes):
        return len(value)
    if not isinstance(value, _SIZED):
        return 1
    total = 0
    stack: list[Any] = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes, range)):
            total += len(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, _SEQUENCES):
            total += len(item)
            stack.extend(item)
        else:
            total += 1
    return total


def check_size(size: int, what: str = "the value") -> None:
    if size > MAX_SIZE:
        raise TooLarge(f"{what} this would make", size, MAX_SIZE, "characters or list items")


def _checked(value: Any) -> Any:
    if isinstance(value, _SIZED):
        check_size(size_of(value))
    elif isinstance(value, Iterator) and not isinstance(value, _Bounded):
        return _Bounded(value)
    return value


class _Bounded(Iterator[Any]):
    """A lazy sequence (``map``, ``select``, a generator) that stops with TooLarge once what
    it has given passes the limit, so that ``list`` or ``join`` of it stays bounded."""

    def __init__(self, source: Iterable[Any]):
        self._source = iter(source)
        self._size = 0

    def __iter__(self) -> _Bounded:
        return self

    def __next__(self) -> Any:
        item = next(self._source)
        self._size += 1 + size_of(item)
        check_size(self._size, "the sequence")
        return item


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_numbers(args: Iterable[Any]) -> None:
    """A number over the limit, given to a call, asks for that much (a width, a count)."""
    for arg in args:
        if _is_int(arg) and abs(arg) > MAX_SIZE:
            check_size(abs(arg))


def _check_repeat(left: Any, right: Any) -> None:
    for sequence, times in ((left, right), (right, left)):
        if _is_int(times) and isinstance(sequence, (str, bytes, list, tuple)):
            check_size(size_of(sequence) * max(times, 0))


def _check_power(base: Any, exponent: Any) -> None:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        bits = int(math.log2(abs(base)) * exponent) + 1
        if bits > MAX_INT_BITS:
            raise TooLarge("the number this would make", bits, MAX_INT_BITS, "bits")


def _check_percent(template: Any, values: Any) -> None:
    """``'%100000000s' % x`` pads to what the conversions ask for."""
    if not isinstance(template, str):
        return
    asked = len(template)
    for match in _PERCENT.finditer(template):
        for number in match.groups():
            if number == "*":
                starred = values if isinstance(values, tuple) else (values,)
                _check_numbers(starred)
            elif number:
                asked += int(number[:7])
    check_size(asked)


def _check_format(template: str, args: Iterable[Any], kwargs: Mapping[str, Any]) -> None:
    """``'{:>100000000}'.format(x)``: the widths and precisions in the fields, and the
    fields' values."""
    asked = len(template)
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # format itself will say what is wrong
    for _literal, _name, spec, _conversion in fields:
        for number in re.findall(r"\d+", spec or ""):
            asked += int(number[:7])
        if spec and "{" in spec:
            _check_numbers([*args, *kwargs.values()])
    asked += sum(size_of(value) for value in (*args, *kwargs.values()))
    check_size(asked)


def _check_join(separator: Any, items: list[Any]) -> None:
    size = sum(size_of(item) for item in items)
    size += max(len(items) - 1, 0) * size_of(separator)
    check_size(size)


def _check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    found = text.count(old) if old else len(text) + 1
    if _is_int(count) and count >= 0:
        found = min(found, count)
    check_size(len(text) + found * max(len(new) - len(old), 0))


def _check_lines(text: Any, per_line: Any) -> None:
    """``indent`` and ``wordwrap`` add their string to every line."""
    if isinstance(text, str):
        added = per_line if _is_int(per_line) else size_of(per_line)
        check_size(len(text) + (text.count("\n") + 1) * max(added, 0))


def _check_str_method(
    name: str, text: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Checks a call of ``text.name``; gives back its arguments, with a lazy sequence to
    join made a list (it can be read only once)."""
    if name == "join" and args:
        items = list(_Bounded(args[0]))
        _check_join(text, items)
        return (items, *args[1:])
    if name == "replace" and len(args) >= 2:
        _check_replace(text, *args[:3])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(size):
            check_size(len(text) + text.count("\t") * max(size, 0))
    elif name in ("format", "format_map"):
        if name == "format_map" and args and isinstance(args[0], Mapping):
            _check_format(text, (), args[0])
        else:
            _check_format(text, args, kwargs)
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((size_of(v) for v in args[0].values()), default=1)
        check_size(len(text) * max(longest, 1))
    return args


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with every value an expression makes held to ``MAX_SIZE``."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Paragraphs of lorem ipsum by the hundred thousand, and of no use in a mail.
        self.globals.pop("lipsum", None)
        self.filters = {
            name: function if name in _PLAIN_FILTERS else _bounded_filter(name, function)
            for name, function in self.filters.items()
        }

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%":
            _check_percent(left, right)
        elif operator == "+" and not (_is_int(left) or isinstance(left, float)):
            check_size(size_of(left) + size_of(right))
        return _checked(self.binop_table[operator](left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        target = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the sandbox
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            if getattr(target, "__name__", "") in _WIDTH_METHODS:
                _check_numbers((*args, *kwargs.values()))
            args = _check_str_method(getattr(target, "__name__", ""), owner, args, kwargs)
        return _checked(super().call(__context, __obj, *args, **kwargs))


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    passes = _PassArg.from_obj(function) is not None
    widths = name in _WIDTH_FILTERS
    try:
        signature: inspect.Signature | None = inspect.signature(function)
    except (TypeError, ValueError):
        signature = None

    @wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        # The value a filter is applied to comes first (after the context, for some):
        # only the filter's own arguments are widths and counts.
        if widths:
            _check_numbers((*args[2 if passes else 1 :], *kwargs.values()))
        if signature is not None and name in _PRECHECKS:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                pass  # the filter itself says what is wrong with its arguments
            else:
                bound.apply_defaults()
                args, kwargs = _PRECHECKS[name](bound)
        return _checked(function(*args, **kwargs))

    return bounded


def _precheck_join(bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
    items = list(_Bounded(bound.arguments["value"]))
    bound.arguments["value"] = items
    if bound.arguments.get("attribute") is None:
        _check_join(bound.arguments["d"], items)
    else:
        # Each item gives one attribute: at most as large as the item.
        check_size(
            sum(size_of(item) for item in items) + len(items) * size_of(bound.arguments["d"])
        )
    return bound.args, bound.kwargs


def _precheck_replace(bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
    a = bound.arguments
    _check_replace(a["s"], a["old"], a["new"], a["count"])
    return bound.args, bound.kwargs


def _precheck_indent(bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
    _check_lines(bound.arguments["s"], bound.arguments["width"])
    return bound.args, bound.kwargs


def _precheck_wordwrap(bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
    a = bound.arguments
    text, width = a["s"], a["width"]
    if isinstance(text, str) and _is_int(width):
        lines = len(text) // max(width, 1) + text.count("\n") + 1
        check_size(len(text) + lines * size_of(a["wrapstring"] or "\n"))
    return bound.args, bound.kwargs


def _precheck_format(bound: inspect.BoundArguments) -> tuple[tuple[Any, ...], dict[str, Any]]:
    a = bound.arguments
    values = a.get("args") or a.get("kwargs") or ()
    _check_percent(a["value"], tuple(values) if isinstance(values, tuple) else values)
    return bound.args, bound.kwargs


_PRECHECKS: dict[
    str, Callable[[inspect.BoundArguments], tuple[tuple[Any, ...], dict[str, Any]]]
] = {
    "join": _precheck_join,
    "replace": _precheck_replace,
    "indent": _precheck_indent,
    "wordwrap": _precheck_wordwrap,
    "format": _precheck_format,
}
