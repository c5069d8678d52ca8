"""Sign-ins: a random token in the browser's cookie, its SHA-256 in ``admin_sessions``.

A sign-in ends after ``idle`` without a request and ``absolute`` after it began, when
its account signs out, is removed, or changes its password.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from mailer.storage.accounts import AdminSession, AdminUser

__all__ = ["Lifetime", "end_session", "find_session", "pop_notice", "start_session", "token_hash"]

#: A sign-in's ``seen_at`` is written at most this often: a page's many requests (its
#: styles, a live update every second) need not each write.
SEEN_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta

    def cutoffs(self, now: datetime) -> tuple[datetime, datetime]:
        """Sign-ins seen before the first, or begun before the second, have ended."""
        return now - self.idle, now - self.absolute


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, user: AdminUser, *, now: datetime, lifetime: Lifetime) -> str:
    """Signs ``user`` in; returns the token for the cookie. Ended sign-ins are cleared."""
    seen, begun = lifetime.cutoffs(now)
    session.execute(
        delete(AdminSession).where(
            or_(AdminSession.seen_at < seen, AdminSession.created_at < begun)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(AdminSession(token_hash=token_hash(token), user=user, created_at=now, seen_at=now))
    user.last_login_at = now
    session.flush()
    return token


def find_session(
    session: Session, token: str, *, now: datetime, lifetime: Lifetime
) -> AdminSession | None:
    """The sign-in of ``token`` if it has not ended; marks it seen."""
    if not token or len(token) > 100:
        return None
    found = session.scalar(select(AdminSession).where(AdminSession.token_hash == token_hash(token)))
    if found is None:
        return None
    seen, begun = lifetime.cutoffs(now)
    if found.seen_at < seen or found.created_at < begun:
        session.delete(found)
        return None
    if now - found.seen_at >= SEEN_EVERY:
        found.seen_at = now
    return found


def end_session(session: Session, token: str) -> None:
    session.execute(delete(AdminSession).where(AdminSession.token_hash == token_hash(token)))


def pop_notice(signed_in: AdminSession) -> str:
    """The message left for this page by the last action, cleared."""
    notice, signed_in.notice = signed_in.notice, ""
    return notice
