"""``POST /webhooks/sendgrid``: SendGrid's event webhook.

The signature is checked over the raw body before anything is parsed; a request that
is not SendGrid's, or is older than ``webhook_max_age``, changes nothing. SendGrid
retries a request that did not get a 2xx, so an answer of 200 means "recorded".
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from mailer.events.actions import WebhookReport, record_provider_events
from mailer.events.sendgrid import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ProviderEvent,
    WebhookRefused,
    normalise,
    parse_events,
    verify_request,
)
from mailer.web.context import WebContext, WebDep

__all__ = ["router"]

logger = logging.getLogger("mailer.web")

router = APIRouter(include_in_schema=False)


@router.post("/webhooks/sendgrid")
async def sendgrid_webhook(request: Request, ctx: WebDep) -> Response:
    """Verify, normalise, record and act on a batch of SendGrid events."""
    body = await request.body()
    now = ctx.now()
    try:
        verify_request(
            ctx.webhook_key,
            body,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            now=now,
            max_age=ctx.settings.webhook_max_age,
        )
        events = [normalise(item, now=now) for item in parse_events(body)]
    except WebhookRefused as err:
        logger.warning("SendGrid webhook refused: %s", err)
        return JSONResponse({"error": str(err)}, status_code=err.status)
    report = await run_in_threadpool(_record, ctx, events)
    logger.info(
        "SendGrid webhook: %d events, %d recorded, %d duplicates, %d suppressions",
        report.received,
        report.recorded,
        report.duplicates,
        report.suppressed,
    )
    return JSONResponse(asdict(report))


def _record(ctx: WebContext, events: list[ProviderEvent]) -> WebhookReport:
    with ctx.database.session() as session:
        return record_provider_events(
            session, ctx.settings, events, provider="sendgrid", now=ctx.now()
        )
