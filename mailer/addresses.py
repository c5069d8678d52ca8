"""Email addresses: validated by email-validator (syntax only) and normalised.

An address is stored once: trimmed, its domain lower-cased and IDNA-encoded, its local
part kept as given. A local part may have at most 64 octets in UTF-8 (RFC 5321
4.5.3.1.1), which is checked here: email-validator checks the length only in its
strict mode, and counts characters there, not octets.

Two addresses are the same subscriber when their *keys* match: the key is the
normalised address with the local part lower-cased too, because in practice every
large mailbox provider treats local parts case-insensitively.
"""

from __future__ import annotations

import hashlib
import re
from email.policy import default as default_policy
from functools import lru_cache
from typing import NamedTuple

from email_validator import EmailNotValidError, validate_email

from mailer.exceptions import HeaderInjection, InvalidAddress, InvalidMessage

__all__ = [
    "Address",
    "Mailbox",
    "address_hash",
    "clean_name",
    "has_control",
    "normalize_address",
    "parse_mailbox",
]

# A local part of plain ASCII atoms separated by single dots (RFC 5322 dot-atom) is valid
# for email-validator whatever its letters, as long as it is at most 64 characters; only
# such local parts take the fast way below, everything else gets the full validation.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_LOCAL = 64
_MAX_ADDRESS = 254


class Address(NamedTuple):
    email: str  # as stored and sent to: local part as given, ASCII (IDNA) domain
    key: str  # what identity is matched on: the same, lower-cased


def normalize_address(raw: str) -> Address:
    """Validate ``raw`` and return its stored form and key; raises InvalidAddress."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if at and _DOT_ATOM.fullmatch(local) and len(local) <= _MAX_LOCAL:
        ascii_domain = _domain(domain)
        if ascii_domain is not None:
            email = f"{local}@{ascii_domain}"
            if len(email) <= _MAX_ADDRESS:
                return Address(email, email.lower())
    return _full(text, raw)


def _full(text: str, raw: str) -> Address:
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as err:
        raise InvalidAddress(raw, str(err)) from None
    octets = len(valid.local_part.encode("utf-8"))
    if octets > _MAX_LOCAL:
        raise InvalidAddress(
            raw,
            f"the part before the @-sign is {octets} bytes long in UTF-8, more than "
            f"the {_MAX_LOCAL} that RFC 5321 allows",
        )
    email = f"{valid.local_part}@{valid.ascii_domain}"
    return Address(email, email.lower())


@lru_cache(maxsize=65536)
def _domain(domain: str) -> str | None:
    """The ASCII form of a domain that email-validator accepts, else None (the full
    validation then gives the precise reason). Cached: lists repeat their domains."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).ascii_domain
    except EmailNotValidError:
        return None


def address_hash(key: str) -> str:
    """The hash kept on the suppression list in place of a forgotten address."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_name(text: str) -> str:
    """A person's name on one line: line breaks, tabs and other control characters
    become single spaces. A name goes into the To header of every message to them,
    where a line break would fail each one."""
    # Only the control characters go: other spaces (a no-break space) are the name's own.
    return _CONTROL.sub(" ", text).strip()


# Mailboxes: a display name and an address, as the From header and the settings take them.
_CONTROL_BUT_TAB = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\t"
_MAILBOX_SPECIALS = re.compile(r"[<>()\[\],;:\\\"]")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a line break or another control character but tab. Runs
    over all of a recipient's header values at once (a tenth of a regex scan for
    ASCII, as bytes.translate deletes what may stay and looks at what is left)."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _PLAIN_ASCII))
    return _CONTROL_BUT_TAB.search(text) is not None


class Mailbox(NamedTuple):
    """A display name (may be empty) and a plain address."""

    name: str
    address: str


def parse_mailbox(text: str, *, header: str = "From") -> Mailbox:
    """``news@example.org`` or ``The Weekly <news@example.org>`` (RFC 5322's name-addr,
    the form Django's and listmonk's settings take) as its name and address, parsed by
    the standard library's header parser. Raises InvalidMessage for anything else: two
    addresses, a group, an unclosed ``<``. The address itself is checked by the caller
    (email-validator for settings, :func:`check_address` for messages)."""
    if has_control(text):
        raise HeaderInjection(header, text)
    if not _MAILBOX_SPECIALS.search(text):  # a plain address: nothing to parse
        return Mailbox("", text.strip())
    parsed = default_policy.header_factory(header, text)
    addresses = parsed.addresses
    if parsed.defects or len(addresses) != 1 or not addresses[0].domain:
        raise InvalidMessage(
            f"{header}: not an address or a name and <address> "
            f"(like The Weekly <news@example.org>): {text!r}"
        )
    return Mailbox(addresses[0].display_name, addresses[0].addr_spec)
