"""Passwords, hashed with argon2id (argon2-cffi's defaults, RFC 9106's second choice)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mailer.exceptions import InputError

__all__ = [
    "MIN_LENGTH",
    "check_new_password",
    "hash_password",
    "needs_rehash",
    "rehash",
    "verify_password",
]

#: NIST SP 800-63B asks for at least 8; a newsroom's admin deserves a little more.
MIN_LENGTH = 10
MAX_LENGTH = 1024


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _unknown_hash() -> str:
    """A hash to check a password against when the account does not exist, so that an
    unknown account takes as long to refuse as a wrong password."""
    return _hasher().hash("not the password of any account")


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InputError(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise InputError(f"the password must be at most {MAX_LENGTH} characters long")
    if password != password.strip():
        raise InputError("the password must not start or end with a space")


def hash_password(password: str) -> str:
    check_new_password(password)
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no such account, checked anyway)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(stored or _unknown_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def rehash(password: str) -> str:
    """A new hash of a password that was right (made under older rules, it may break
    today's: it is not checked again)."""
    return _hasher().hash(password)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(stored)
