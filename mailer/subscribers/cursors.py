"""Page cursors: a position in subscriber-id order, as an opaque string for a URL.

A cursor is ``base64url("s1:" + id)`` without padding: letters, digits, ``-`` and ``_``
only, so it goes into a query string unescaped. It says *where* a page ends, not *which
search* it belongs to: passed with other filters it simply continues from that position,
which is harmless. Anything else is refused with :class:`BadCursor`, never a 500.
"""

from __future__ import annotations

import base64
import binascii

from mailer.exceptions import InputError, quoted

__all__ = ["BadCursor", "decode_cursor", "encode_cursor"]

_PREFIX = "s1:"
# Longer than any cursor we make; a megabyte of junk is refused before decoding.
_MAX_LENGTH = 40


class BadCursor(InputError):
    """A page cursor that we did not make (edited, cut short, from another version)."""

    def __init__(self, cursor: str):
        self.cursor = cursor
        super().__init__(f"page cursor {quoted(cursor)} is not valid; start from the first page")


def encode_cursor(position: int) -> str:
    raw = f"{_PREFIX}{position}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position a cursor names; BadCursor if it is not one of ours."""
    if not cursor or len(cursor) > _MAX_LENGTH or not cursor.isascii():
        raise BadCursor(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise BadCursor(cursor) from None
    number = raw.removeprefix(_PREFIX)
    if number == raw or not number.isdigit() or len(number) > 19:
        raise BadCursor(cursor)
    position = int(number)
    if encode_cursor(position) != cursor:  # a cursor is written one way only
        raise BadCursor(cursor)
    return position
