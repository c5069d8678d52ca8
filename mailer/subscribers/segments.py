"""Segments: which subscribers of a list a campaign goes to.

    tag:donor and attr.country == "DE"
    (tag:volunteer or tag:press) and not attr.age < 18
    attr.city in ["Bonn", "Köln"] and timezone != "Asia/Tokyo"
    domain == "example.org" or name contains "Lee"

``tag:NAME`` is true when the subscriber has the tag, letter case aside; ``attr.KEY`` is
an attribute, ``email``, ``domain``, ``name`` and ``timezone`` are the subscriber's own
fields. A field
alone is true when it is set and not empty. Comparisons are ``== != < <= > >=``, ``in``
a list, and ``contains`` (text or a list). A number compares with an attribute that
holds a number as text (``attr.age > 30`` matches ``"42"``). A missing attribute is
unequal to everything and neither smaller nor larger than anything.

A segment has at most ``MAX_LENGTH`` characters and nests parentheses, ``not``s and
lists at most ``MAX_DEPTH`` deep: the parser recurses, and a segment no person writes
must be a clear error, not a RecursionError.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mailer.exceptions import InputError, quoted

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Segment", "SegmentError", "parse_segment"]

MAX_LENGTH = 2000
MAX_DEPTH = 32


class SegmentError(InputError):
    """A segment expression that does not parse; names the column."""

    def __init__(self, expression: str, column: int, message: str):
        self.expression = expression
        self.column = column
        super().__init__(f"segment {quoted(expression)}, column {column}: {message}")


class Member(Protocol):
    email: str
    name: str
    timezone: str | None
    tags: list[str]
    attributes: dict[str, Any]


Predicate = Callable[[Member], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<=|>=|<|>)
      | (?P<punct>[()\[\],])
      | (?P<tag>tag:[^\s()]+)
      | (?P<word>[A-Za-z_][\w.-]*)
    )""",
    re.VERBOSE,
)
_FIELDS = {"email", "name", "timezone", "domain"}
_KEYWORDS = {"and", "or", "not", "in", "contains", "true", "false", "null"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Segment:
    """A parsed segment; call ``matches`` with a subscriber."""

    expression: str
    matches: Predicate


def parse_segment(expression: str) -> Segment:
    if len(expression) > MAX_LENGTH:
        raise SegmentError(
            expression,
            MAX_LENGTH + 1,
            f"a segment has at most {MAX_LENGTH:,} characters; this one has {len(expression):,}",
        )
    return Segment(expression, _Parser(expression).parse())


@dataclass
class _Token:
    kind: str
    text: str
    column: int


class _Parser:
    def __init__(self, expression: str):
        self.expression = expression
        self.tokens = self._tokenize(expression)
        self.at = 0
        self.depth = 0

    def _tokenize(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                if text[position:].strip() == "":
                    break
                column = position + len(text[position:]) - len(text[position:].lstrip()) + 1
                raise SegmentError(text, column, f"unexpected {text[column - 1]!r}")
            kind = match.lastgroup or ""
            tokens.append(_Token(kind, match.group(kind), match.start(kind) + 1))
            position = match.end()
        return tokens

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _next(self, wanted: str) -> _Token:
        token = self._peek()
        if token is None:
            raise SegmentError(self.expression, len(self.expression) + 1, f"expected {wanted}")
        self.at += 1
        return token

    def _error(self, token: _Token, message: str) -> SegmentError:
        return SegmentError(self.expression, token.column, message)

    def _deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(
                token, f"nested more than {MAX_DEPTH} deep (parentheses, 'not's and lists)"
            )

    def _is(self, text: str) -> bool:
        token = self._peek()
        return token is not None and token.text == text

    def parse(self) -> Predicate:
        if not self.tokens:
            raise SegmentError(self.expression, 1, "the segment is empty")
        predicate = self._or()
        token = self._peek()
        if token is not None:
            raise self._error(token, f"unexpected {token.text!r}; expected 'and' or 'or'")
        return predicate

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._is("or"):
            self.at += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda m: any(p(m) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._is("and"):
            self.at += 1
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else lambda m: all(p(m) for p in parts)

    def _not(self) -> Predicate:
        token = self._peek()
        if token is not None and token.text == "not":
            self.at += 1
            self._deeper(token)
            inner = self._not()
            self.depth -= 1
            return lambda m: not inner(m)
        return self._atom()

    def _atom(self) -> Predicate:
        token = self._next('a condition such as tag:donor or attr.country == "DE"')
        if token.text == "(":
            self._deeper(token)
            inner = self._or()
            self.depth -= 1
            closing = self._next("')'")
            if closing.text != ")":
                raise self._error(closing, f"expected ')', found {closing.text!r}")
            return inner
        if token.kind == "tag":
            # Letter case aside, as Mailchimp's tags: "tag:donor" finds "Donor".
            name = token.text[4:].casefold()
            return lambda m: any(tag.casefold() == name for tag in m.tags)
        if token.kind != "word" or token.text in _KEYWORDS:
            raise self._error(token, f"expected a condition, found {token.text!r}")
        field = _field(self, token)
        following = self._peek()
        if following is not None and following.kind == "op":
            self.at += 1
            compare = _COMPARE[following.text]
            value = self._value()
            return lambda m: _compare(compare, field(m), value)
        if following is not None and following.text in ("in", "contains"):
            self.at += 1
            value = self._value()
            if following.text == "in":
                if not isinstance(value, list):
                    raise self._error(following, '\'in\' needs a list such as ["DE", "AT"]')
                return lambda m: any(_compare(operator.eq, field(m), v) for v in value)
            return lambda m: _contains(field(m), value)
        return lambda m: field(m) not in (None, "", [], {}, False)

    def _value(self) -> Any:
        token = self._next("a value")
        if token.kind == "string":
            quote = token.text[0]
            body = token.text[1:-1].replace(f"\\{quote}", quote).replace("\\\\", "\\")
            return body
        if token.kind == "number":
            return json.loads(token.text)
        if token.text in ("true", "false", "null"):
            return json.loads(token.text)
        if token.text == "[":
            self._deeper(token)
            items: list[Any] = []
            while not self._is("]"):
                items.append(self._value())
                if self._is(","):
                    self.at += 1
                elif not self._is("]"):
                    raise self._error(self._next("',' or ']'"), "expected ',' or ']'")
            self.at += 1
            self.depth -= 1
            return items
        raise self._error(
            token,
            f"expected a value (text in quotes, a number, true, false, null or a list), "
            f"found {token.text!r}",
        )


def _field(parser: _Parser, token: _Token) -> Callable[[Member], Any]:
    name = token.text
    if name.startswith("attr."):
        path = name[5:].split(".")
        if not all(path):
            raise parser._error(token, f"{name!r} names no attribute")
        return lambda m: _dig(m.attributes, path)
    if name == "domain":
        return lambda m: m.email.rpartition("@")[2].lower()
    if name in _FIELDS:
        return lambda m: getattr(m, name)
    raise parser._error(
        token, f"unknown field {name!r}; use tag:NAME, attr.KEY, email, domain, name or timezone"
    )


def _dig(value: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _compare(compare: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    if left is None or right is None:
        return compare is operator.ne if (left is None) != (right is None) else compare(left, right)
    if isinstance(right, (int, float)) and not isinstance(right, bool):
        left = _number(left)
    elif isinstance(left, (int, float)) and not isinstance(left, bool) and isinstance(right, str):
        right = _number(right)
    try:
        return bool(compare(left, right))
    except TypeError:
        return compare is operator.ne


def _contains(container: Any, value: Any) -> bool:
    if isinstance(container, str) and isinstance(value, str):
        return value.lower() in container.lower()
    if isinstance(container, list):
        return value in container
    return False
