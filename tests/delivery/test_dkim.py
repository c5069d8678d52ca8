from __future__ import annotations

from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mailer.delivery.dkim import DkimSigner
from mailer.delivery.mime import MessageBuilder
from mailer.exceptions import ConfigError
from mailer.settings.keys import load_private_key
from tests.support.keys import DkimKey
from tests.support.messages import make_content, make_recipient


def test_keys_load_from_text_or_a_file_in_pkcs8_or_pkcs1(tmp_path: Path, dkim_key: DkimKey) -> None:
    from_text = load_private_key(dkim_key.private_pem.decode())
    assert from_text.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "dkim.pem").write_bytes(from_text)
    assert load_private_key("keys/dkim.pem", tmp_path) == from_text


def test_a_signed_message_verifies(dkim_key: DkimKey) -> None:
    signer = DkimSigner(load_private_key(dkim_key.private_pem.decode()), "s2024", "example.org")
    message = MessageBuilder(make_content()).build(make_recipient(1))
    signed = signer.sign(message)
    assert signed.endswith(message)
    assert dkim.verify(signed, dnsfunc=dkim_key.dnsfunc)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (
            lambda: "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----",
            "not an unencrypted PEM",
        ),
        (lambda: pem(rsa.generate_private_key(65537, 2048), b"pw"), "not an unencrypted PEM"),
        (lambda: pem(ec.generate_private_key(ec.SECP256R1())), "must be an RSA key"),
        (lambda: "/nonexistent/dkim.pem", "cannot read"),
    ],
    ids=["garbage", "encrypted", "ec", "missing file"],
)
def test_unusable_keys_are_config_errors(make: object, error: str) -> None:
    with pytest.raises(ConfigError, match=error) as caught:
        load_private_key(make())  # type: ignore[operator]
    assert caught.value.key == "dkim_private_key"
