"""How large a subscriber's own fields may be.

A name goes into the To header and, with the attributes, into every message that uses
them; a name of a megabyte would be stored and then fail every message. So, wherever
people come in (``subscribers add``, an import, the subscribe form, the API):

- a name has at most ``MAX_NAME`` (300) characters;
- at most ``MAX_ATTRIBUTES`` (200) attributes come at once, each name of at most
  ``MAX_ATTRIBUTE_KEY`` (100) characters, each value at most ``MAX_ATTRIBUTE_VALUE``
  (2,000) characters as JSON; whole numbers fit in 64 bits (what the database stores);
- a tag has at most ``MAX_TAG`` (100) characters, and at most ``MAX_TAGS`` (100) come at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from mailer.exceptions import InputError, TooLarge, quoted

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_ATTRIBUTE_KEY",
    "MAX_ATTRIBUTE_VALUE",
    "MAX_NAME",
    "MAX_TAG",
    "MAX_TAGS",
    "check_attributes",
    "check_name",
    "check_tags",
]

MAX_NAME = 300
MAX_ATTRIBUTES = 200
MAX_ATTRIBUTE_KEY = 100
MAX_ATTRIBUTE_VALUE = 2000
MAX_TAG = 100
MAX_TAGS = 100
_INT64 = range(-(2**63), 2**63)


def check_name(name: str) -> None:
    if len(name) > MAX_NAME:
        raise TooLarge("the name", len(name), MAX_NAME)


def check_attributes(attributes: Mapping[str, Any]) -> None:
    if len(attributes) > MAX_ATTRIBUTES:
        raise TooLarge("the set of attributes", len(attributes), MAX_ATTRIBUTES, "attributes")
    for key, value in attributes.items():
        if len(key) > MAX_ATTRIBUTE_KEY:
            raise TooLarge(f"the attribute name {quoted(key)}", len(key), MAX_ATTRIBUTE_KEY)
        if isinstance(value, str) and len(value) <= MAX_ATTRIBUTE_VALUE // 6:
            continue  # short enough whatever JSON makes of it (this runs for every row)
        if not _ints_fit(value):
            raise InputError(f"attribute {quoted(key)}: a whole number outside 64 bits")
        size = len(json.dumps(value, ensure_ascii=False))
        if size > MAX_ATTRIBUTE_VALUE:
            raise TooLarge(f"attribute {quoted(key)}", size, MAX_ATTRIBUTE_VALUE)


def check_tags(tags: Iterable[str]) -> None:
    count = 0
    for tag in tags:
        count += 1
        if len(tag) > MAX_TAG:
            raise TooLarge(f"the tag {quoted(tag)}", len(tag), MAX_TAG)
    if count > MAX_TAGS:
        raise TooLarge("the list of tags", count, MAX_TAGS, "tags")


def _ints_fit(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in _INT64
    if isinstance(value, Mapping):
        return all(_ints_fit(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(_ints_fit(v) for v in value)
    return True
