"""Per-recipient expressions: ``{{ subscriber.first_name or "friend" }}`` in a subject or
an article's text.

A campaign is rendered once; each expression becomes a token (``%%f0%%`` where raw text
goes, ``%%f0.h%%`` where HTML goes) and is compiled once, in Jinja's sandbox since article
authors are trusted less than template authors. For every recipient only the compiled
expressions run. Jinja's ``compile_expression`` spends most of its time setting up a
template context per call, too slow for 50,000 messages a second; so the common forms
(attributes, ``or``/``and``/``not``, ``if``/``else``, comparisons, ``~`` and simple
filters) are turned into plain closures over the sandbox's own attribute lookup and
filters, and anything else falls back to ``compile_expression``. Both give the same
values (a test compares them).
"""

from __future__ import annotations

import html
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, UndefinedError, nodes
from markupsafe import escape

from mailer.exceptions import RenderError, TooLarge, quoted
from mailer.rendering.bounds import MAX_SIZE, BoundedSandbox
from mailer.rendering.substitution import token

__all__ = [
    "Evaluator",
    "ExpressionSet",
    "SubscriberView",
    "compile_expression",
    "html_escape",
    "to_text",
]

Evaluator = Callable[[Mapping[str, Any]], Any]

# {{ ... }} in HTML text, except inside <code> (an article about templates shows them).
_IN_HTML = re.compile(r"<code>.*?</code>|\{\{(.+?)\}\}", re.DOTALL)
_IN_TEXT = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)
# Filters that are plain functions of their value and constant arguments.
_SIMPLE_FILTERS = frozenset(
    {"default", "d", "upper", "lower", "title", "capitalize", "trim", "string", "length"}
)
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
# What markupsafe's escape changes; most values (names, our own links) hold none of it.
_HTML_SPECIAL = re.compile(r"[&<>\"']")
_SUBSCRIBER_FIELDS = frozenset(
    {"email", "name", "first_name", "attributes", "attr", "tags", "timezone"}
)


def _finalize(value: Any) -> Any:
    return "" if value is None else value


MAX_SOURCE = 2000
# What all of a mailing's expressions may print for one reader, together: far more than
# an email can hold (Gmail clips at 102 KB), far less than would tax memory.
MAX_OUTPUT = 1_000_000

ENVIRONMENT = BoundedSandbox(undefined=ChainableUndefined, finalize=_finalize)


def html_escape(text: str) -> str:
    """``text`` escaped as markupsafe escapes it; a text with nothing to escape costs one
    scan, not a Markup object (this runs several times for every recipient)."""
    if _HTML_SPECIAL.search(text) is None:
        return text
    return str(escape(text))


def to_text(value: Any) -> str:
    """What ``{{ value }}`` prints: nothing for ``None`` and undefined values. A text over
    ``MAX_SIZE`` (made by ``~``, which the sandbox does not see) is a TooLarge error."""
    if value is None or isinstance(value, ChainableUndefined):
        return ""
    text = str(value)
    if len(text) > MAX_SIZE:
        raise TooLarge("the text this would make", len(text), MAX_SIZE)
    return text


class SubscriberView:
    """What ``subscriber`` is in expressions: the fields of the contract (``email``,
    ``name``, ``first_name``, ``attributes`` also as ``attr``, ``tags``, ``timezone``) of
    a subscriber object or mapping, and nothing else (no lazy-loaded relations)."""

    __slots__ = ("_source",)

    def __init__(self, source: Any):
        self._source = source

    def __getattr__(self, name: str) -> Any:
        if name not in _SUBSCRIBER_FIELDS:
            raise AttributeError(name)
        if name == "attr":
            name = "attributes"
        source = self._source
        if type(source) is dict or isinstance(source, Mapping):
            if name in source:
                return source[name]
            if name == "first_name":
                attributes = source.get("attributes") or {}
                given = attributes.get("first_name") if isinstance(attributes, Mapping) else None
                if isinstance(given, str) and given:
                    return given
                full = source.get("name") or ""
                return full.split(" ", 1)[0] if isinstance(full, str) else ""
            if name == "attributes":
                return {}
            raise AttributeError(name)
        return getattr(source, name)


def compile_expression(source: str, origin: str) -> Evaluator:
    """``source`` (what stands between ``{{`` and ``}}``) compiled into a function of
    the variables; a syntax error is a RenderError naming ``origin``. A source has at
    most ``MAX_SOURCE`` characters: ``~`` joins its parts unseen by the sandbox, so the
    length of the source is what bounds the number of parts."""
    if len(source) > MAX_SOURCE:
        raise RenderError(
            origin,
            f"{{{{ {_shown(source.strip())} }}}}: an expression has at most "
            f"{MAX_SOURCE:,} characters; this one has {len(source):,}",
        )
    try:
        parsed = ENVIRONMENT.parse("{{ " + source + " }}")
    except TemplateSyntaxError as err:
        raise RenderError(origin, f"{{{{ {_shown(source.strip())} }}}}: {err.message}") from None
    outputs = [n for n in parsed.body if isinstance(n, nodes.Output)]
    fast = _translate(outputs[0].nodes[0]) if len(outputs) == 1 and outputs[0].nodes else None
    if fast is not None:
        return fast
    slow = ENVIRONMENT.compile_expression(source, undefined_to_none=False)
    return lambda variables: slow(**variables)


def _translate(node: nodes.Node) -> Evaluator | None:
    """A closure computing ``node`` as Jinja would, or None for what it does not cover."""
    for kind, translate in _TRANSLATORS:
        if isinstance(node, kind):
            return translate(node)
    return None


def _from_name(node: nodes.Name) -> Evaluator | None:
    return _name(node.name) if node.ctx == "load" else None


def _from_getattr(node: nodes.Getattr) -> Evaluator | None:
    obj = _translate(node.node)
    return None if obj is None else _getattr(obj, node.attr)


def _from_getitem(node: nodes.Getitem) -> Evaluator | None:
    if not isinstance(node.arg, nodes.Const):
        return None
    item = _translate(node.node)
    return None if item is None else _getitem(item, node.arg.value)


def _from_logic(node: nodes.Or | nodes.And) -> Evaluator | None:
    left, right = _translate(node.left), _translate(node.right)
    if left is None or right is None:
        return None
    return _or(left, right) if isinstance(node, nodes.Or) else _and(left, right)


def _from_not(node: nodes.Not) -> Evaluator | None:
    inner = _translate(node.node)
    return None if inner is None else _not(inner)


def _from_compare(node: nodes.Compare) -> Evaluator | None:
    if len(node.ops) != 1 or node.ops[0].op not in _COMPARISONS:
        return None
    first, second = _translate(node.expr), _translate(node.ops[0].expr)
    if first is None or second is None:
        return None
    return _compare(_COMPARISONS[node.ops[0].op], first, second)


def _from_concat(node: nodes.Concat) -> Evaluator | None:
    parts = [_translate(n) for n in node.nodes]
    present = [p for p in parts if p is not None]
    return _concat(present) if len(present) == len(parts) else None


def _const(value: Any) -> Evaluator:
    return lambda v: value


def _name(name: str) -> Evaluator:
    return lambda v: v[name] if name in v else ENVIRONMENT.undefined(name=name)


def _getattr(obj: Evaluator, attr: str) -> Evaluator:
    def get(variables: Mapping[str, Any]) -> Any:
        target = obj(variables)
        if type(target) is SubscriberView:
            # Our own view answers only the contract's fields: nothing for the sandbox to
            # guard, and this runs for every recipient.
            try:
                return target.__getattr__(attr)
            except AttributeError:
                return ENVIRONMENT.undefined(obj=target, name=attr)
        return ENVIRONMENT.getattr(target, attr)

    return get


def _getitem(obj: Evaluator, key: Any) -> Evaluator:
    return lambda v: ENVIRONMENT.getitem(obj(v), key)


def _or(left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda v: left(v) or right(v)


def _and(left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda v: left(v) and right(v)


def _not(inner: Evaluator) -> Evaluator:
    return lambda v: not inner(v)


def _compare(compare: Callable[[Any, Any], Any], first: Evaluator, second: Evaluator) -> Evaluator:
    return lambda v: compare(first(v), second(v))


def _concat(parts: list[Evaluator]) -> Evaluator:
    return lambda v: "".join([str(p(v)) for p in parts])


def _cond(node: nodes.CondExpr) -> Evaluator | None:
    test, then = _translate(node.test), _translate(node.expr1)
    if test is None or then is None:
        return None
    if node.expr2 is None:
        return lambda v: then(v) if test(v) else ENVIRONMENT.undefined()
    otherwise = _translate(node.expr2)
    if otherwise is None:
        return None
    return lambda v: then(v) if test(v) else otherwise(v)


def _filter(node: nodes.Filter) -> Evaluator | None:
    function = ENVIRONMENT.filters.get(node.name)
    if (
        node.name not in _SIMPLE_FILTERS
        or function is None
        or getattr(function, "jinja_pass_arg", None) is not None
        or node.node is None
        or node.kwargs
        or node.dyn_args is not None
        or node.dyn_kwargs is not None
        or not all(isinstance(a, nodes.Const) for a in node.args)
    ):
        return None
    value = _translate(node.node)
    if value is None:
        return None
    args = [a.value for a in node.args if isinstance(a, nodes.Const)]
    return lambda v: function(value(v), *args)


# What _translate covers, by the kind of node; anything else Jinja evaluates itself.
_TRANSLATORS: tuple[tuple[type[nodes.Node], Callable[[Any], Evaluator | None]], ...] = (
    (nodes.Const, lambda node: _const(node.value)),
    (nodes.Name, _from_name),
    (nodes.Getattr, _from_getattr),
    (nodes.Getitem, _from_getitem),
    (nodes.Or, _from_logic),
    (nodes.And, _from_logic),
    (nodes.Not, _from_not),
    (nodes.CondExpr, _cond),
    (nodes.Compare, _from_compare),
    (nodes.Concat, _from_concat),
    (nodes.Filter, _filter),
)


class ExpressionSet:
    """The expressions of one campaign, each numbered once however often it is used."""

    def __init__(self) -> None:
        self.sources: list[str] = []
        self._numbers: dict[str, int] = {}
        self._sample_size = 0

    def add(self, source: str, origin: str) -> int:
        source = source.strip()
        if source not in self._numbers:
            evaluator = compile_expression(source, origin)
            self._sample_size += _try(evaluator, source, origin)
            if self._sample_size > MAX_OUTPUT:
                raise RenderError(
                    origin,
                    f"the expressions would print {self._sample_size:,} characters for one "
                    f"reader; the limit is {MAX_OUTPUT:,}",
                )
            self._numbers[source] = len(self.sources)
            self.sources.append(source)
        return self._numbers[source]

    def in_html(self, inline_html: str, origin: str) -> str:
        """Inline HTML with every expression replaced by its HTML token."""

        def replace(found: re.Match[str]) -> str:
            if found.group(1) is None:
                return found.group(0)
            number = self.add(html.unescape(found.group(1)), origin)
            return token(f"f{number}.h")

        return _IN_HTML.sub(replace, inline_html)

    def in_text(self, text: str, origin: str) -> str:
        """Raw text (a subject) with every expression replaced by its raw token; a
        ``{{`` or ``}}`` left over is a mistake, which would go out as typed."""
        outside = _IN_TEXT.sub(lambda m: " " * len(m.group(0)), text)
        stray = min((i for i in (outside.find("{{"), outside.find("}}")) if i >= 0), default=-1)
        if stray >= 0:
            raise RenderError(
                origin,
                f"{outside[stray : stray + 2]!r} without its other half at column {stray + 1}: "
                f"{quoted(text, 60)}",
            )
        return _IN_TEXT.sub(lambda m: token(f"f{self.add(m.group(1), origin)}"), text)


_SAMPLE = SubscriberView(
    {"email": "reader@example.org", "name": "Sam Reader", "attributes": {}, "tags": []}
)


def _try(evaluator: Evaluator, source: str, origin: str) -> int:
    """Run a new expression once on a sample subscriber, so that a mistake shows when the
    campaign is rendered, not in the middle of sending it."""
    try:
        return len(to_text(evaluator({"subscriber": _SAMPLE})))
    except UndefinedError:
        return 0  # data the sample subscriber lacks: real ones may have it
    except TooLarge as err:
        raise RenderError(origin, f"{{{{ {_shown(source)} }}}}: {err}") from None
    except Exception as err:  # any other failure of user code is reported
        raise RenderError(
            origin, f"{{{{ {_shown(source)} }}}}: {type(err).__name__}: {err}"
        ) from err


def _shown(source: str, limit: int = 60) -> str:
    return source if len(source) <= limit else source[:limit] + "…"


def evaluate_html(evaluator: Evaluator, variables: Mapping[str, Any]) -> tuple[str, str]:
    """An expression's value for one recipient: raw and HTML-escaped. An expression that
    fails for this recipient prints nothing: one odd subscriber must not stop a send."""
    try:
        text = to_text(evaluator(variables))
    except Exception:  # see the docstring
        text = ""
    return text, html_escape(text)
