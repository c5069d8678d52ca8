from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.addresses import normalize_address
from mailer.exceptions import InvalidAddress


@pytest.mark.parametrize(
    ("raw", "email", "key"),
    [
        ("  Ann.Lee@Example.COM ", "Ann.Lee@example.com", "ann.lee@example.com"),
        ("jörg@BÜCHER.de", "jörg@xn--bcher-kva.de", "jörg@xn--bcher-kva.de"),
        ("x+tag@sub.example.org", "x+tag@sub.example.org", "x+tag@sub.example.org"),
    ],
)
def test_normalised_form_and_key(raw: str, email: str, key: str) -> None:
    assert normalize_address(raw) == (email, key)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("no-at-sign", "@-sign"),
        ("a..b@example.com", "two periods"),
        ("a@localhost", "period"),
        ("@example.com", "before the @-sign"),
        ("a@" + "b" * 64 + ".com", "so many characters"),
    ],
)
def test_invalid_addresses_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        normalize_address(raw)


_local = st.text(alphabet=st.sampled_from("abcXYZ019.+-_'!#~\"@ é"), min_size=0, max_size=70)
_domain = st.text(alphabet=st.sampled_from("abcXYZ019.-_é"), min_size=0, max_size=30)


@settings(max_examples=500)
@given(local=_local, domain=_domain)
def test_the_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    raw = f"{local}@{domain}"
    try:
        # An address is trimmed before it is checked (a leading space is how a CSV cell
        # often arrives), so the trimmed text is what email-validator must agree on.
        valid = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        with pytest.raises(InvalidAddress):
            normalize_address(raw)
        return
    got = normalize_address(raw)
    assert got.email == f"{valid.local_part}@{valid.ascii_domain}"


# RFC 5321 4.5.3.1.1 counts the local part in octets: "ü" is two of them in UTF-8.
@pytest.mark.parametrize("local", ["a" * 64, "ü" * 32, "ü" * 31 + "ab"])
def test_a_local_part_of_64_octets_is_fine(local: str) -> None:
    assert normalize_address(f"{local}@example.com").email == f"{local}@example.com"


@pytest.mark.parametrize(
    ("local", "octets"), [("a" * 65, 65), ("ü" * 33, 66), ("ü" * 32 + "a", 65)]
)
def test_a_local_part_over_64_octets_is_refused(local: str, octets: int) -> None:
    with pytest.raises(InvalidAddress) as raised:
        normalize_address(f"{local}@example.com")
    assert raised.value.reason == (
        f"the part before the @-sign is {octets} bytes long in UTF-8, more than the 64 "
        "that RFC 5321 allows"
    )
