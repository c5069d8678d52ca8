"""The keys in the settings, read and checked when the settings load: DKIM's RSA
private key (PEM text or a PEM file) and SendGrid's webhook verification key (base64
DER). They live beside the settings, below everything that signs or verifies, so that
a broken key fails at start, naming its key, and not mid-send."""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sendgrid.helpers.eventwebhook import EventWebhook

from mailer.exceptions import ConfigError

__all__ = ["load_private_key", "load_public_key"]

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


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key SendGrid shows (base64 DER); ValueError if it is not one."""
    try:
        key = EventWebhook().convert_public_key_to_ecdsa(text.strip())
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise ValueError(
            "not a SendGrid verification key (copy the base64 text of Mail Settings > "
            "Event Webhook > Signature Verification)"
        ) from err
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an elliptic-curve public key, as SendGrid's are")
    return key
