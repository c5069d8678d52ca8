"""Campaigns sent from the web: the API's ``POST /api/campaigns/{id}/send`` and the
admin's "Send now" start a send the same way. The request checks that it can start (so
that a campaign that cannot is an answer now, not a line in the log later) and the send
runs after the answer, in the app's background tasks, through the sender every way in
uses; its progress is in the ledger for the pages to read."""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks
from sqlalchemy.orm import Session

from mailer.campaigns import actions
from mailer.exceptions import MailerError
from mailer.web.context import WebContext

__all__ = ["run_send", "start_send"]

logger = logging.getLogger("mailer.web")


def start_send(
    session: Session,
    ctx: WebContext,
    background: BackgroundTasks,
    campaign_id: int,
    *,
    resume: bool,
    record: actions.Record | None = None,
) -> None:
    """Check that the campaign can start (StateError, or the readiness errors, if not),
    then send (or ``resume``) it after the answer; ``record`` is written with the move
    that starts it, not with the check."""
    actions.check_startable(session, ctx.settings, campaign_id, resume=resume)
    background.add_task(run_send, ctx, campaign_id, resume, record)


def run_send(
    ctx: WebContext, campaign_id: int, resume: bool, record: actions.Record | None = None
) -> None:
    try:
        sender = actions.sender_for(
            ctx.database, ctx.settings, ctx.backend(ctx.settings), clock=ctx.clock
        )
        outcome = actions.send(sender, campaign_id, resume=resume, record=record)
    except MailerError as err:
        logger.error("campaign %d not sent: %s", campaign_id, type(err).__name__)
        return
    logger.info("campaign %d is %s", campaign_id, outcome.status.value)
