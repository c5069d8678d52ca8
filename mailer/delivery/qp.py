"""Quoted-printable (RFC 2045) for a text with tokens, encoded once per batch.

Encoding a 20 KB HTML part costs about 100 µs even in C, which alone would hold SMTP
under 5,000 messages a second on a core. But a soft line break (``=`` at a line's end)
disappears when decoding, so the pieces of text between the tokens can be encoded once,
each ending in a soft break, and each message only encodes its substitution values and
joins: the decoded result is exactly ``Filler.fill``'s.

No encoded line begins with a dot (one there is written ``=2E``, which decodes the same):
every piece and value begins a line, so no line of a filled text does either, and SMTP
need not scan a message to dot-stuff it (RFC 5321 4.5.2), which cost more than building it.
"""

from __future__ import annotations

from binascii import b2a_qp
from collections.abc import Mapping

from mailer.rendering.substitution import TOKEN_PATTERN

__all__ = ["QuotedPrintableFiller", "encode_quoted_printable"]

_MAX_LINE = 76  # RFC 2045 6.7: encoded lines at most 76 characters, the "=" included


def encode_quoted_printable(text: str) -> bytes:
    """``text`` as UTF-8 quoted-printable with CRLF line ends, no line beginning with
    a dot."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = b2a_qp(data, istext=True)
    # Only a long text can have a line too long: b2a_qp makes one of 77 characters
    # where it encodes a space at the end of a full line.
    if encoded.startswith(b".") or b"\n." in encoded or len(encoded) > _MAX_LINE:
        encoded = b"\n".join(_fitted(line) for line in encoded.split(b"\n"))
    return encoded.replace(b"\n", b"\r\n")


def _fitted(line: bytes) -> bytes:
    """One encoded line (without its line end) with a leading dot written ``=2E``,
    split behind soft breaks where it is longer than a line may be."""
    lines = []
    while True:
        if line.startswith(b"."):
            line = b"=2E" + line[1:]
        if len(line) <= _MAX_LINE:
            break
        cut = _split_point(line, _MAX_LINE - 1)
        lines.append(line[:cut] + b"=")
        line = line[cut:]  # begins a line of its own: it may begin with a dot too
    lines.append(line)
    return b"\n".join(lines)


def _split_point(line: bytes, cut: int) -> int:
    """``cut``, or a little before it where it would split an ``=XX`` escape."""
    if line[cut - 1 : cut] == b"=":
        return cut - 1
    if line[cut - 2 : cut - 1] == b"=":
        return cut - 2
    return cut


class QuotedPrintableFiller:
    """The quoted-printable encoding of ``text`` with its tokens filled."""

    __slots__ = ("_names", "_pieces")

    def __init__(self, text: str):
        parts = TOKEN_PATTERN.split(text)
        self._names = TOKEN_PATTERN.findall(text)
        last = len(parts) - 1
        self._pieces = [
            _soft_end(encode_quoted_printable(part)) if i < last else encode_quoted_printable(part)
            for i, part in enumerate(parts)
        ]

    def fill(self, values: Mapping[str, str]) -> bytes:
        """The encoded text with each token replaced by its value (a token without a
        value stays as it is, as ``Filler`` and SendGrid leave it)."""
        pieces = self._pieces
        if not self._names:
            return pieces[0]
        out = [pieces[0]]
        # A value always starts a line of its own, so its encoding is the same wherever
        # the token stands: encode each once (a link token may stand many times).
        encoded: dict[str, bytes] = {}
        for name, piece in zip(self._names, pieces[1:], strict=True):
            value = encoded.get(name)
            if value is None:
                value = encoded[name] = _soft_end(encode_quoted_printable(values.get(name, name)))
            out.append(value)
            out.append(piece)
        return b"".join(out)


def _soft_end(encoded: bytes) -> bytes:
    """``encoded`` ending in a soft line break, so that what follows joins its last line
    when decoded; the last line is split first if the "=" would make it too long."""
    if not encoded:
        return b""
    start = encoded.rfind(b"\n") + 1
    tail = encoded[start:]
    if len(tail) < _MAX_LINE:
        return encoded + b"=\r\n"
    # Split before the last few characters, but never inside an "=XX" escape.
    cut = _split_point(tail, _MAX_LINE - 3)
    rest = tail[cut:]
    if rest.startswith(b"."):
        rest = b"=2E" + rest[1:]  # a few characters: still short enough
    return encoded[:start] + tail[:cut] + b"=\r\n" + rest + b"=\r\n"
