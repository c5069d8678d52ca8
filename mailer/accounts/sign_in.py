"""Checking a sign-in: the password, the limits, and one answer for every refusal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailer.accounts.limits import LoginLimit
from mailer.accounts.passwords import needs_rehash, rehash, verify_password
from mailer.accounts.users import find_user
from mailer.exceptions import SignInRefused
from mailer.storage.accounts import AdminUser

__all__ = ["WRONG", "check_sign_in"]

#: The answer to a wrong password and to an unknown account alike.
WRONG = "That email address and password do not match an account."


def check_sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    address: str,
    limit: LoginLimit,
    now: datetime,
) -> AdminUser:
    """The account that ``email`` and ``password`` sign in; raises SignInRefused. The
    failure it counts is in ``session``: commit it before answering."""
    user = find_user(session, email)
    keys = LoginLimit.keys(user.email_key if user else email.strip().lower(), address)
    wait = limit.retry_after(session, keys, now=now)
    if wait is not None:
        minutes = -(-wait // 60)
        raise SignInRefused(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
            retry_after=wait,
        )
    if not verify_password(user.password_hash if user else None, password) or user is None:
        limit.failed(session, keys, now=now)
        raise SignInRefused(WRONG)
    limit.succeeded(session, keys[0])
    if needs_rehash(user.password_hash):
        user.password_hash = rehash(password)
    return user
