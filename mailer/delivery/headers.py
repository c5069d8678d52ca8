"""Header fields: checked against injection, encoded and folded (RFC 5322, RFC 2047).

Every header value passes :func:`check_header` before it is written anywhere, so that a
subscriber's name or a substitution holding ``\\r\\nBcc: ...`` raises
:class:`~mailer.exceptions.HeaderInjection` instead of adding a header.

The encoding is written out here rather than left to :mod:`email.policy`: a newsletter
builds one message per recipient, and the common case (a short ASCII value) must cost a
string format, not a header parse.
"""

from __future__ import annotations

import re
from binascii import b2a_base64
from email.utils import formataddr

from mailer.addresses import has_control
from mailer.exceptions import HeaderInjection, InvalidMessage

__all__ = [
    "RESERVED_HEADERS",
    "check_address",
    "check_header",
    "encode_header",
    "format_address",
    "list_headers",
    "message_id",
]

# Headers the builders write themselves from Content and Recipient; a caller setting one
# in ``headers`` would make a second, contradicting copy.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "reply-to",
        "sender",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "dkim-signature",
    }
)

# RFC 5322 field names: printable ASCII except the colon.
_NAME = re.compile(r"[!-9;-~]+")
# Line breaks, and every other control character but tab: some readers split header
# lines at \x0b, \x0c or \x1c-\x1e as well (str.splitlines does).
# The ASCII that _CONTROL lets through: deleting it from an ASCII text leaves nothing
# unless the text has a control character (bytes.translate is a tenth of a regex scan).
# RFC 5322 dot-atom text, for the left side of a Message-ID.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_ADDRESS_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>()\[\],;:\\\"]")
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f<>]")
# What only a name-addr, a list or a group holds (RFC 5322 specials but "@" and ".").

_FOLD_AT = 78  # RFC 5322 2.1.1: lines SHOULD be at most 78 characters
_MAX_LINE = 998  # ... and MUST be at most 998
# RFC 2047: an encoded word is at most 75 characters; "=?utf-8?b?" and "?=" leave 63
# for base64, which is 45 bytes of UTF-8.
_WORD_OVERHEAD = len("=?utf-8?b??=")
_WORD_BYTES = 45


def check_header(name: str, value: str) -> None:
    """Raise HeaderInjection if ``name`` is not a field name or ``value`` holds a line
    break or another control character (tab is allowed)."""
    if not _NAME.fullmatch(name) or has_control(value):
        raise HeaderInjection(name, value)
    if name.startswith("."):
        # RFC 5322 allows it; refusing it keeps every line of our messages from
        # beginning with a dot, which SMTP would otherwise have to scan for.
        raise InvalidMessage(f"header {name!r}: a header name may not begin with a dot")


def check_address(address: str, *, header: str = "To", utf8: bool = False) -> None:
    """Raise if ``address`` cannot go into a header and an SMTP envelope as it is. A
    non-ASCII local part passes only with ``utf8`` (RFC 6531/6532: the message must then
    travel by SMTPUTF8); domains are stored IDNA-encoded already."""
    if has_control(address):
        raise HeaderInjection(header, address)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _ADDRESS_FORBIDDEN.search(address):
        raise InvalidMessage(f"{header}: not a plain email address: {address!r}")
    if not utf8 and not address.isascii():
        raise InvalidMessage(
            f"{header}: {address!r} has a non-ASCII local part, which needs SMTPUTF8"
        )


def encode_header(name: str, value: str, *, utf8: bool = False) -> bytes:
    """One header field as it goes on the wire: checked, RFC 2047-encoded when not ASCII
    (or, with ``utf8``, left as UTF-8, as RFC 6532 allows: for an address header whose
    address is not ASCII, where encoded words may not go), folded at spaces to 78
    characters where possible, ending in CRLF."""
    check_header(name, value)
    if not utf8 and not value.isascii():
        value = " ".join(_encoded_words(value, room=_FOLD_AT - len(name) - 2))
    return _fold(name, value)


def format_address(address: str, name: str = "", *, header: str = "To", utf8: bool = False) -> str:
    """``"Name" <address>``: the name quoted as RFC 5322 wants, or as RFC 2047 encoded
    words when it is not ASCII. The result is ASCII but for a non-ASCII local part, which
    only ``utf8`` lets through (see :func:`check_address`)."""
    check_address(address, header=header, utf8=utf8)
    if has_control(name):
        raise HeaderInjection(header, name)
    if not name:
        return address
    if name.isascii():
        return f"{_quoted(name)} <{address}>"
    # Room for the first word after the longest address header's "Reply-To: ".
    return f"{' '.join(_encoded_words(name, room=_FOLD_AT - 10))} <{address}>"


def message_id(delivery_id: str, domain: str) -> str:
    """``<delivery_id@domain>``: unique because the delivery id is, and the same when a
    delivery is retried, so that receivers can drop a duplicate."""
    if not _DOT_ATOM.fullmatch(delivery_id):
        raise InvalidMessage(f"delivery id {delivery_id!r} cannot be part of a Message-ID")
    if not _DOMAIN.fullmatch(domain):
        raise InvalidMessage(f"{domain!r} cannot be the domain of a Message-ID")
    return f"<{delivery_id}@{domain}>"


def list_headers(
    list_id: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str,
    *,
    list_name: str = "",
    https_only: bool = True,
) -> dict[str, str]:
    """The list headers of one recipient's message, built the same way everywhere:
    ``List-Id`` (RFC 2919), ``List-Unsubscribe`` with the one-click HTTPS URL and a
    mailto: address, and ``List-Unsubscribe-Post`` (RFC 8058, which Gmail and Yahoo
    require of bulk senders).

    ``list_id`` is a dotted name such as ``weekly.news.example.org``; ``unsubscribe_mailto``
    an address or a ``mailto:`` URL. The result goes in ``Recipient.headers`` (``List-Id``
    may go in ``Content.headers`` instead: it is the same for the whole batch).
    ``https_only=False`` lets an ``http://`` URL through, for mail that is never sent
    (the outbox, a local base_url such as ``mailer init`` writes)."""
    if not _DOMAIN.fullmatch(list_id) or "." not in list_id:
        raise InvalidMessage(f"list id {list_id!r} is not a dotted name like news.example.org")
    scheme = "https://" if https_only or not unsubscribe_url.startswith("http://") else "http://"
    rest = unsubscribe_url[len(scheme) :]
    if not unsubscribe_url.startswith(scheme) or rest[:1] in ("", "/", "?", "#"):
        raise InvalidMessage(
            f"the one-click unsubscribe URL must be https:// (RFC 8058): {unsubscribe_url!r}"
        )
    mailto = unsubscribe_mailto
    if not mailto.startswith("mailto:"):
        check_address(mailto, header="List-Unsubscribe")
        mailto = f"mailto:{mailto}"
    # Inside <...> a URL must not hold spaces, angle brackets or line breaks (RFC 2369).
    for url in (unsubscribe_url, mailto):
        if _URL_FORBIDDEN.search(url):
            raise HeaderInjection("List-Unsubscribe", url)
    return {
        "List-Id": f"{_phrase(list_name)} <{list_id}>" if list_name else f"<{list_id}>",
        "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _phrase(text: str) -> str:
    """A display name as RFC 5322 wants it: quoted where needed, encoded if not ASCII."""
    if has_control(text):
        raise HeaderInjection("List-Id", text)
    if not text.isascii():
        return " ".join(_encoded_words(text, room=_FOLD_AT - len("List-Id: ")))
    return _quoted(text)


def _quoted(name: str) -> str:
    """An ASCII display name quoted and escaped where RFC 5322 wants it (formataddr's
    rules; it is given a stand-in address, as it refuses a non-ASCII one)."""
    return formataddr((name, "x@x")).rsplit(" <", 1)[0]


def _encoded_words(text: str, room: int) -> list[str]:
    """``text`` as RFC 2047 base64 encoded words of UTF-8, each at most 75 characters,
    the first one at most ``room``, never splitting a character between two words."""
    data = text.encode("utf-8")
    words = []
    start = 0
    size = max((room - _WORD_OVERHEAD) // 4 * 3, 3)
    while start < len(data):
        end = min(start + size, len(data))
        # Back off to a character boundary: UTF-8 continuation bytes are 0b10xxxxxx.
        while end > start and end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        if end == start:  # not even one character fits the room: take one anyway
            end = start + 1
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end += 1
        chunk = b2a_base64(data[start:end], newline=False).decode("ascii")
        words.append(f"=?utf-8?b?{chunk}?=")
        start = end
        size = _WORD_BYTES
    return words


def _fold(name: str, value: str) -> bytes:
    line = f"{name}: {value}"
    # UTF-8, not ASCII: only an RFC 6532 address header gets this far with more than ASCII.
    if len(line) <= _FOLD_AT:
        return f"{line}\r\n".encode()
    # A fold is a CRLF put before a space, so unfolding gives back the value exactly.
    lines = []
    current = f"{name}:"
    first = True
    for word in value.split(" "):
        if not first and word and len(current) + 1 + len(word) > _FOLD_AT:
            lines.append(current)
            current = ""
        current += " " + word
        first = False
    lines.append(current)
    if max(len(part) for part in lines) > _MAX_LINE:
        raise InvalidMessage(f"header {name!r} has a line over {_MAX_LINE} characters")
    return ("\r\n".join(lines) + "\r\n").encode()
