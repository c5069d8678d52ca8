"""Adding, listing, changing and removing admin accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mailer.accounts.passwords import hash_password
from mailer.addresses import normalize_address
from mailer.exceptions import AlreadyExists, InputError, NotFound, StateError
from mailer.storage.accounts import AdminSession, AdminUser, Role

__all__ = [
    "add_user",
    "find_user",
    "get_user",
    "list_users",
    "parse_role",
    "remove_user",
    "set_password",
    "set_role",
]


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role {text!r}: one of {names}") from None


def find_user(session: Session, email: str) -> AdminUser | None:
    """The account of ``email``, or None (also for an address that does not parse)."""
    try:
        key = normalize_address(email).key
    except InputError:
        return None
    return session.scalar(select(AdminUser).where(AdminUser.email_key == key))


def get_user(session: Session, email: str) -> AdminUser:
    user = find_user(session, email)
    if user is None:
        raise NotFound("account", email, "mailer users ls lists them")
    return user


def add_user(
    session: Session, email: str, role: Role, password: str, *, now: datetime
) -> AdminUser:
    address = normalize_address(email)
    if session.scalar(select(AdminUser.id).where(AdminUser.email_key == address.key)):
        raise AlreadyExists("account", address.email)
    user = AdminUser(
        email=address.email,
        email_key=address.key,
        role=role,
        password_hash=hash_password(password),
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[AdminUser]:
    return list(session.scalars(select(AdminUser).order_by(AdminUser.email_key)))


def _other_admins(session: Session, user: AdminUser) -> int:
    return (
        session.scalar(
            select(func.count()).where(AdminUser.role == Role.ADMIN, AdminUser.id != user.id)
        )
        or 0
    )


def remove_user(session: Session, email: str) -> AdminUser:
    """Removes the account and ends its sign-ins; the last admin stays."""
    user = get_user(session, email)
    if user.role is Role.ADMIN and not _other_admins(session, user):
        raise StateError(f"{user.email} is the last admin: add another admin first")
    session.delete(user)
    session.flush()
    return user


def set_role(session: Session, email: str, role: Role) -> AdminUser:
    user = get_user(session, email)
    if user.role is Role.ADMIN and role is not Role.ADMIN and not _other_admins(session, user):
        raise StateError(f"{user.email} is the last admin: add another admin first")
    user.role = role
    session.flush()
    return user


def set_password(
    session: Session, email: str, password: str, *, now: datetime, keep_session: int | None = None
) -> AdminUser:
    """Sets a new password and ends the account's sign-ins (but ``keep_session``, the one
    that changed it)."""
    user = get_user(session, email)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    ended = delete(AdminSession).where(AdminSession.user_id == user.id)
    if keep_session is not None:
        ended = ended.where(AdminSession.id != keep_session)
    session.execute(ended)
    session.flush()
    return user
