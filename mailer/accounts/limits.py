"""Limits on guessing passwords: failed sign-ins are counted per account and per
address over a window, in the database, so that every process counts the same ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mailer.storage.accounts import LoginFailure

__all__ = ["LoginLimit"]


@dataclass(frozen=True)
class LoginLimit:
    """``per_account`` failures for one account (known or not) and ``per_address`` for
    one IP address, in any ``window``."""

    per_account: int
    per_address: int
    window: timedelta = timedelta(minutes=15)

    @staticmethod
    def keys(email_key: str, address: str) -> tuple[str, str]:
        return f"account:{email_key}"[:400], f"address:{address}"[:400]

    def retry_after(self, session: Session, keys: Sequence[str], *, now: datetime) -> int | None:
        """Seconds until another try is allowed, or None if it is allowed now."""
        since = now - self.window
        waits: list[int] = []
        for key, allowed in zip(keys, (self.per_account, self.per_address), strict=True):
            failures = select(LoginFailure.at).where(
                LoginFailure.key == key, LoginFailure.at >= since
            )
            count = session.scalar(select(func.count()).select_from(failures.subquery())) or 0
            if count >= allowed:
                # The window frees a try when the oldest failure in it leaves.
                oldest = session.scalar(
                    failures.order_by(LoginFailure.at).offset(count - allowed).limit(1)
                )
                if oldest is not None:
                    waits.append(max(1, int((oldest + self.window - now).total_seconds()) + 1))
        return max(waits) if waits else None

    def failed(self, session: Session, keys: Sequence[str], *, now: datetime) -> None:
        session.add_all(LoginFailure(key=key, at=now) for key in keys)
        # What left the window counts no more.
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - self.window))

    def succeeded(self, session: Session, account_key: str) -> None:
        """A right password clears its account's count (not its address's)."""
        session.execute(delete(LoginFailure).where(LoginFailure.key == account_key))
