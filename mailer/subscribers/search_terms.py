"""What a search box query and the search's filters mean, as SQL conditions.

- ``@example.org``: the address's domain, exactly;
- text with an ``@`` (``ann@`` or ``ann@example.org``): a prefix of the address;
- other text: a prefix of the address, or a part of the name, letter case aside;
- a tag: that exact tag.

The address's key is lower-case (``mailer.addresses``), so prefixes are a range of its
unique index. A part of a name or a domain is found by a scan (see ``search``, which
bounds it). SQLite's LIKE ignores the case of ASCII letters only, so a name part with
other letters is also tried in lower, upper and capitalised form ("zoë" finds "Zoë" and
"ZOË", not "zOË"); PostgreSQL's ILIKE folds every letter.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import type_coerce

from mailer.storage.models import Subscriber

__all__ = ["like_pattern", "query_condition", "tag_condition"]

# The highest code point: every key with the prefix sorts below prefix + this.
_TOP = "\U0010ffff"


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's own characters escaped (by backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _prefix(text: str) -> ColumnElement[bool]:
    key = text.lower()
    return and_(Subscriber.email_key >= key, Subscriber.email_key < key + _TOP)


def _name_part(text: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return Subscriber.name.ilike(like_pattern(text), escape="\\")
    forms = dict.fromkeys([text, text.lower(), text.upper(), text[:1].upper() + text[1:].lower()])
    return or_(*(Subscriber.name.like(like_pattern(form), escape="\\") for form in forms))


def query_condition(query: str, dialect: str) -> tuple[ColumnElement[bool], bool]:
    """The condition of a search box query, and whether it needs a scan (is not a
    range of an index)."""
    text = query.strip()
    if not text:
        return true(), False
    if text.startswith("@"):
        domain = "%@" + like_pattern(text[1:].lower())[1:-1]
        return Subscriber.email_key.like(domain, escape="\\"), True
    if "@" in text:
        return _prefix(text), False
    return or_(_prefix(text), _name_part(text, dialect)), True


def tag_condition(tag: str, dialect: str) -> ColumnElement[bool]:
    """The subscriber has exactly this tag."""
    if dialect == "postgresql":
        return type_coerce(Subscriber.tags, JSONB).contains([tag])
    # A LIKE on the JSON text is cheap and rules out almost every row; json_each then
    # checks the exact tag (LIKE ignores case, and could match inside another tag).
    encoded = like_pattern(json.dumps(tag, ensure_ascii=False))
    items: Any = func.json_each(Subscriber.tags).table_valued("value")
    return and_(
        type_coerce(Subscriber.tags, Subscriber.name.type).like(encoded, escape="\\"),
        exists(select(literal_column("1")).select_from(items).where(items.c.value == tag)),
    )
