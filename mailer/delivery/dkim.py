"""DKIM signatures (RFC 6376) with dkimpy, for mail that leaves through SMTP.

The key is read once (a PEM file or the PEM text, PKCS#1 or PKCS#8, RSA) and handed to
dkimpy in the PKCS#1 form it parses. Signing is relaxed/relaxed, so that a relay that
refolds a header or trims trailing spaces does not break the signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dkim

from mailer.settings.keys import load_private_key

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["SIGNED_HEADERS", "DkimSigner"]

#: Signed when present; a listed header that is absent is signed as absent, so it cannot
#: be added on the way either.
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
    "X-Mailer-Delivery",
)


class DkimSigner:
    """Adds a ``DKIM-Signature`` header to messages of ``domain``."""

    def __init__(
        self,
        private_key: bytes,
        selector: str,
        domain: str,
        headers: tuple[str, ...] = SIGNED_HEADERS,
    ):
        self._key = private_key
        self.selector = selector
        self.domain = domain
        self._headers = [name.lower().encode("ascii") for name in headers]

    @classmethod
    def from_settings(cls, settings: Settings) -> DkimSigner | None:
        """The signer the settings configure, or None when DKIM is not set up."""
        if settings.dkim_private_key is None or not settings.dkim_selector:
            return None
        key = load_private_key(settings.dkim_private_key.get_secret_value(), settings.base_dir)
        return cls(key, settings.dkim_selector, settings.dkim_domain or "")

    def sign(self, message: bytes) -> bytes:
        """``message`` with its signature header put first."""
        signature: bytes = dkim.sign(
            message,
            self.selector.encode("ascii"),
            self.domain.encode("ascii"),
            self._key,
            include_headers=self._headers,
            canonicalize=(b"relaxed", b"relaxed"),
        )
        return signature + message
