"""Who the audit log names for the command line, and the entries its commands write."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy.orm import Session

from mailer.accounts.audit import audit
from mailer.campaigns.records import Record
from mailer.storage.types import utcnow

__all__ = ["cli_actor", "record", "write"]


def cli_actor() -> str:
    """``cli:<Unix user>``, or ``cli`` alone where no user name can be found (a container
    running as a uid without a name in /etc/passwd and no LOGNAME)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # getpwuid's KeyError, and OSError since Python 3.13
        return "cli"
    return f"cli:{user}" if user else "cli"


def write(session: Session, action: str, target: str = "", **detail: Any) -> None:
    """One entry in ``session``'s transaction: stored with the change or not at all."""
    audit(session, cli_actor(), action, target, now=utcnow(), **detail)


def record(action: str, target: str = "", **detail: Any) -> Record:
    """The entry as a :data:`~mailer.campaigns.records.Record`, for an action that opens
    its own transaction (cancel, send)."""

    def recorded(session: Session) -> None:
        write(session, action, target, **detail)

    return recorded
