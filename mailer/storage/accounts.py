"""The people who use the admin under ``/admin``: their accounts, their sign-ins, the
failed attempts that limit guessing, and the audit log of what they changed.

A sign-in is a row of ``admin_sessions`` keyed by the SHA-256 of the cookie's random
token, so that the table alone lets nobody in, and signing out, removing an account or
changing its password ends the sign-ins at once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mailer.storage.models import Base, string_enum
from mailer.storage.types import utcnow

__all__ = ["AdminSession", "AdminUser", "AuditEntry", "LoginFailure", "Role"]


class Role(enum.StrEnum):
    """What an account may do, each role all that the one before it may."""

    VIEWER = "viewer"  # reads everything
    EDITOR = "editor"  # also composes, edits drafts, previews and sends tests
    ADMIN = "admin"  # also imports, schedules, sends, deletes and manages accounts

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As typed, and the key it is found by (mailer.addresses.normalize_address).
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[Role] = mapped_column(string_enum(Role))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    sessions: Mapped[list[AdminSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class AdminSession(Base):
    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A message for the next page shown ("Campaign 4 paused"), then cleared.
    notice: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[AdminUser] = relationship(back_populates="sessions")


class LoginFailure(Base):
    """One failed sign-in, counted under the account's key and the address's: every
    process behind the site counts the same ones."""

    __tablename__ = "admin_login_failures"
    __table_args__ = (Index("ix_admin_login_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "account:<email key>" or "address:<IP address>"
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who changed what, and when. The account's email is kept as text, so that the
    entry outlives the account."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    # A dotted name: "campaign.pause", "user.add", "list.edit", ...
    action: Mapped[str] = mapped_column(String(64))
    # What it was done to: "campaign 4", "list weekly", "user ana@example.org".
    target: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
