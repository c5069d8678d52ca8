from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from mailer.tokens import BadToken, TokenData, sign, verify

SECRET = "0123456789abcdef0123456789abcdef"


def test_round_trip_and_binding() -> None:
    data = TokenData("unsubscribe", 42, 7, extra="c3")
    token = sign(SECRET, data)
    assert verify(SECRET, token, "unsubscribe") == data
    with pytest.raises(BadToken, match="not meant for this page"):
        verify(SECRET, token, "confirm")
    with pytest.raises(BadToken, match="changed"):
        verify("another-secret-entirely-0123456", token, "unsubscribe")


def test_tampering_and_damage_are_refused() -> None:
    token = sign(SECRET, TokenData("unsubscribe", 42, 7))
    payload, signature = token.split(".")
    forged = sign(SECRET, TokenData("unsubscribe", 43, 7)).split(".")[0]
    with pytest.raises(BadToken, match="changed"):
        verify(SECRET, f"{forged}.{signature}", "unsubscribe")
    with pytest.raises(BadToken, match="damaged"):
        verify(SECRET, payload, "unsubscribe")
    with pytest.raises(BadToken):
        verify(SECRET, token[:-3], "unsubscribe")


def test_expiry() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    data = TokenData("confirm", 1, 2, expires=int((now + timedelta(days=7)).timestamp()))
    token = sign(SECRET, data)
    assert verify(SECRET, token, "confirm", now=now + timedelta(days=6)) == data
    with pytest.raises(BadToken, match="expired"):
        verify(SECRET, token, "confirm", now=now + timedelta(days=8))


def test_the_signature_is_keyed_blake2b_even_for_a_long_secret() -> None:
    import base64
    import hashlib

    data = TokenData("unsubscribe", 42, 7, extra="c3")
    payload, signature = sign(SECRET, data).split(".")
    assert base64.urlsafe_b64decode(payload + "==") == b"unsubscribe|42|7||c3"
    mac = hashlib.blake2b(b"unsubscribe|42|7||c3", key=SECRET.encode(), digest_size=16,
                          person=b"mailer-token")  # fmt: skip
    assert base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode() == signature
    long_secret = "k" * 200  # longer than BLAKE2b's 64-byte key
    token = sign(long_secret, data)
    assert verify(long_secret, token, "unsubscribe") == data
    with pytest.raises(BadToken):
        verify("k" * 199, token, "unsubscribe")


def test_a_form_mac_is_a_purpose_of_the_signer_and_passes_for_no_link() -> None:
    from mailer.tokens import Signer

    signer = Signer(SECRET)
    form = signer.mac("form-bound", "unsubscribe", "abc")
    assert form == signer.mac("form-bound", "unsubscribe", "abc")
    assert form != signer.mac("form-timed", "unsubscribe", "abc")
    assert form != Signer(SECRET + "x").mac("form-bound", "unsubscribe", "abc")
    # The MAC of a form, with what it signed as a payload, is no link token.
    forged = base64.urlsafe_b64encode(b"form-bound|unsubscribe|abc").decode().rstrip("=")
    with pytest.raises(BadToken):
        verify(SECRET, f"{forged}.{form}", "unsubscribe")
    with pytest.raises(ValueError, match="unknown MAC purpose"):
        signer.mac("unsubscribe", "1")
