"""RFC 5322 messages, one per recipient, built from a batch's shared content.

A :class:`MessageBuilder` is made once per batch: it checks and encodes what every
message shares (sender, shared headers, a subject without tokens), splits the subject,
HTML and text into pieces once (the parts' pieces quoted-printable encoded already, see
:mod:`mailer.delivery.qp`), and then :meth:`~MessageBuilder.build` costs a few joins. The
bytes are what SMTP sends, what the outbox writes and what DKIM signs.

Each message is ``multipart/alternative`` (text, then HTML, UTF-8, quoted-printable) with
``Date``, ``Message-ID`` on the sender's domain, ``Precedence: bulk`` and
``X-Mailer-Delivery`` unless the caller's headers set them. It is 7-bit ASCII but for the
``To`` line of a recipient whose address has a non-ASCII local part (RFC 6532). No line
begins with a dot (header names may not, folded lines begin with a space, and see
:mod:`mailer.delivery.qp` for the parts), so SMTP sends a message without dot-stuffing.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from email.utils import formatdate

from mailer.delivery.headers import (
    RESERVED_HEADERS,
    check_address,
    check_header,
    encode_header,
    format_address,
    message_id,
)
from mailer.delivery.message import Content, Recipient
from mailer.delivery.qp import QuotedPrintableFiller
from mailer.exceptions import InvalidMessage
from mailer.rendering.substitution import Filler

__all__ = ["DELIVERY_HEADER", "MessageBuilder", "sender_domain"]

DELIVERY_HEADER = "X-Mailer-Delivery"
CAMPAIGN_HEADER = "X-Mailer-Campaign"


def sender_domain(address: str) -> str:
    """The domain of the sender's address, which Message-IDs are made on."""
    check_address(address, header="From")
    return address.rpartition("@")[2].lower()


class MessageBuilder:
    """Builds the message of each recipient of one batch.

    The constructor raises HeaderInjection or InvalidMessage for a problem every message
    would share, before anything is sent; :meth:`build` raises them for one recipient's
    message only."""

    def __init__(
        self,
        content: Content,
        *,
        clock: Callable[[], float] = time.time,
        boundary: str | None = None,
    ):
        self.content = content
        self._clock = clock
        self._domain = sender_domain(content.from_address)
        self._subject = Filler(content.subject)
        self._html = QuotedPrintableFiller(content.html)
        self._text = QuotedPrintableFiller(content.text)
        if not content.html and not content.text:
            raise InvalidMessage("a message needs an HTML or a text part")
        # A boundary starting "=_" never occurs in quoted-printable text, where "=" is
        # always followed by two hex digits or a line break, so no part needs a scan.
        self._boundary = (boundary or f"=_{secrets.token_hex(12)}").encode("ascii")

        # What every message shares, encoded once.
        sender = format_address(content.from_address, content.from_name, header="From")
        lines = [encode_header("From", sender)]
        if content.reply_to:
            reply_to = format_address(content.reply_to, header="Reply-To")
            lines.append(encode_header("Reply-To", reply_to))
        self._shared_head = b"".join(lines)
        self._subject_line = (
            None if self._subject.tokens else encode_header("Subject", content.subject)
        )
        self._shared = _checked(content.headers)
        if content.campaign:
            self._campaign_line: bytes | None = encode_header(CAMPAIGN_HEADER, content.campaign)
        else:
            self._campaign_line = None

    def message_id(self, recipient: Recipient) -> str:
        """The Message-ID of ``recipient``'s message: the caller's, else our own."""
        for headers in (recipient.headers, self.content.headers):
            for name, value in headers.items():
                if name.lower() == "message-id":
                    return value
        return message_id(recipient.delivery_id, self._domain)

    def build(self, recipient: Recipient) -> bytes:
        """The whole message of ``recipient``, with CRLF line ends."""
        values = recipient.substitutions
        own = _checked(recipient.headers) if recipient.headers else {}
        lines = [self._shared_head]
        # A non-ASCII local part goes in as UTF-8 (RFC 6532): the outbox writes it as it
        # is, SMTP sends it only by SMTPUTF8, and SendGrid's schema refuses it earlier.
        to = format_address(recipient.email, recipient.name, utf8=True)
        lines.append(encode_header("To", to, utf8=True))
        if self._subject_line is not None:
            lines.append(self._subject_line)
        else:
            lines.append(encode_header("Subject", self._subject.fill(values)))
        defaults = (
            ("date", "Date", formatdate(self._clock(), usegmt=True)),
            ("message-id", "Message-ID", message_id(recipient.delivery_id, self._domain)),
            ("precedence", "Precedence", "bulk"),
            (DELIVERY_HEADER.lower(), DELIVERY_HEADER, recipient.delivery_id),
        )
        for key, name, value in defaults:
            if key not in own and key not in self._shared:
                lines.append(encode_header(name, value))
        for key, line in self._shared.items():
            if key not in own:
                lines.append(line)
        lines.extend(own.values())
        if self._campaign_line is not None:
            lines.append(self._campaign_line)
        lines.append(b"MIME-Version: 1.0\r\n")
        lines.append(self._body(values))
        return b"".join(lines)

    def _body(self, values: Mapping[str, str]) -> bytes:
        parts = []
        if self.content.text:
            parts.append((b"text/plain", self._text.fill(values)))
        if self.content.html:
            parts.append((b"text/html", self._html.fill(values)))
        if len(parts) == 1:
            kind, data = parts[0]
            # A message ends with a line end (SMTP would add one anyway).
            end = b"" if data.endswith(b"\r\n") else b"\r\n"
            return _part_head(kind) + b"\r\n" + data + end
        boundary = self._boundary
        out = [b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n']
        for kind, data in parts:
            out.append(b"--" + boundary + b"\r\n" + _part_head(kind) + b"\r\n" + data + b"\r\n")
        out.append(b"--" + boundary + b"--\r\n")
        return b"".join(out)


def _checked(headers: Mapping[str, str]) -> dict[str, bytes]:
    """The caller's headers encoded, by lower-case name; refuses injections and the
    headers the builder writes itself."""
    out = {}
    for name, value in headers.items():
        check_header(name, value)
        key = name.lower()
        if key in RESERVED_HEADERS:
            raise InvalidMessage(f"header {name!r} is set from Content and Recipient, not headers")
        if key in out:
            raise InvalidMessage(f"header {name!r} is given twice")
        out[key] = encode_header(name, value)
    return out


def _part_head(kind: bytes) -> bytes:
    return (
        b"Content-Type: " + kind + b'; charset="utf-8"\r\n'
        b"Content-Transfer-Encoding: quoted-printable\r\n"
    )
