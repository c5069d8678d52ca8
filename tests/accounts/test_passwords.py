"""argon2id at its real cost, and the rules for a new password."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from mailer.accounts import passwords
from mailer.exceptions import InputError

#: The module's own hasher, before tests/conftest.py swaps in a cheap one.
REAL = passwords._hasher


def test_the_real_hasher_is_argon2id_at_argon2_cffis_defaults() -> None:
    hashed = REAL().hash("a long enough password")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(hashed, "a long enough password")


def test_a_hash_verifies_its_password_only() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterx")
    assert not passwords.verify_password(stored, "")
    assert not passwords.verify_password("not a hash", "correct horse battery")


def test_no_account_verifies_nothing_even_the_dummy_password() -> None:
    assert not passwords.verify_password(None, "not the password of any account")


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "at least 10"), (" padded password ", "space"), ("x" * 1025, "at most 1024")],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        passwords.hash_password(password)


def test_a_hash_of_weaker_parameters_is_renewed_on_sign_in() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    assert REAL().check_needs_rehash(weak)
