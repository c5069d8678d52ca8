"""DKIM signatures (RFC 6376) with dkimpy, for mail that leaves through SMTP.

The key is read once (a PEM file or the PEM text, PKCS#1 or PKCS#8, RSA) and handed to
dkimpy in the PKCS#1 form it parses. Signing is relaxed/relaxed, so that a relay that
refolds a header or trims trailing spaces does not break the signature.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailer.exceptions import ConfigError

if TYPE_CHECKING:
    from mailer.config import Settings

__all__ = ["SIGNED_HEADERS", "DkimSigner", "load_private_key"]

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

_MIN_BITS = 1024  # RFC 8301: verifiers refuse shorter keys


def load_private_key(value: str, base_dir: Path | None = None) -> bytes:
    """The RSA key in ``value`` (PEM text, or the path of a PEM file, relative paths
    against ``base_dir``) as PKCS#1 PEM; raises ConfigError naming the problem."""
    if "-----BEGIN" in value:
        pem = value.encode("ascii", "replace")
    else:
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            pem = path.read_bytes()
        except OSError as err:
            raise ConfigError(
                f"cannot read {path}: {err.strerror}", key="dkim_private_key"
            ) from err
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as err:
        raise ConfigError("is not an unencrypted PEM private key", key="dkim_private_key") from err
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("must be an RSA key (rsa-sha256)", key="dkim_private_key")
    if key.key_size < _MIN_BITS:
        raise ConfigError(
            f"is {key.key_size} bits; verifiers refuse keys under {_MIN_BITS} (use 2048)",
            key="dkim_private_key",
        )
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
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
