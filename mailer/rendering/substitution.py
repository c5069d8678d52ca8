"""Per-recipient values in a message rendered once per campaign.

A campaign is rendered and inlined once, with a token such as ``%%first_name%%`` where each
per-recipient value goes. SendGrid fills the tokens itself (``substitutions`` of a
personalization); for SMTP and the outbox, :class:`Filler` fills them here. A token's
value is already escaped for where the token stands (HTML-escaped in the HTML part, raw
in the subject and the text part), so filling is plain replacement.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["TOKEN_PATTERN", "Filler", "token"]

TOKEN_PATTERN = re.compile(r"%%[a-z0-9_.]+%%")


def token(name: str) -> str:
    """The token for a value named ``name`` (lower-case letters, digits, ``_`` and ``.``)."""
    result = f"%%{name}%%"
    if not TOKEN_PATTERN.fullmatch(result):
        raise ValueError(f"not a token name: {name!r}")
    return result


class Filler:
    """A text with tokens, split once so that each fill is one join: personalising
    100,000 messages must not scan a 100 KB HTML part 100,000 times per token."""

    __slots__ = ("_names", "_parts", "text")

    def __init__(self, text: str):
        self.text = text
        pieces = TOKEN_PATTERN.split(text)
        self._parts = pieces
        self._names = TOKEN_PATTERN.findall(text)

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(self._names)

    def fill(self, values: Mapping[str, str]) -> str:
        """The text with every token replaced by its value; a token without a value
        stays as it is (SendGrid does the same)."""
        if not self._names:
            return self.text
        out = [self._parts[0]]
        for name, part in zip(self._names, self._parts[1:], strict=True):
            out.append(values.get(name, name))
            out.append(part)
        return "".join(out)
