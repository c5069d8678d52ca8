"""What the API writes to the audit log. It has one credential, the ``api_token`` of the
settings, with no name to tell one caller from another: every entry names ``api``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mailer.accounts.audit import audit
from mailer.campaigns.records import Record
from mailer.web.context import WebContext

__all__ = ["ACTOR", "record", "write"]

#: Who the audit log names for what the API changes.
ACTOR = "api"


def write(session: Session, ctx: WebContext, action: str, target: str = "", **detail: Any) -> None:
    """One entry in ``session``'s transaction: stored with the change or not at all."""
    audit(session, ACTOR, action, target, now=ctx.now(), **detail)


def record(ctx: WebContext, action: str, target: str = "", **detail: Any) -> Record:
    """The entry as a :data:`~mailer.campaigns.records.Record`, for a send that starts
    after the answer, in a transaction of its own."""

    def recorded(session: Session) -> None:
        write(session, ctx, action, target, **detail)

    return recorded
