"""``POST /webhooks/{provider}``: every registered provider's event webhook (SendGrid's
at ``/webhooks/sendgrid``).

The route knows no provider: it finds the one the path names in the registry (a clear
404 for a name it lacks, a 403 for one the settings leave off), which verifies the
request over the raw body before anything is parsed; a request that is not the
provider's, or is older than ``webhook_max_age``, changes nothing. Providers retry a
request that did not get a 2xx, so an answer of 200 means "recorded".
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from mailer.events.actions import WebhookReport, record_provider_events
from mailer.events.model import ProviderEvent
from mailer.events.providers import Provider
from mailer.exceptions import WebhookRefused
from mailer.web.context import WebContext, WebDep

__all__ = ["router"]

logger = logging.getLogger("mailer.web")

router = APIRouter(include_in_schema=False)


@router.post("/webhooks/{provider}")
async def provider_webhook(provider: str, request: Request, ctx: WebDep) -> Response:
    """Verify, normalise, record and act on a batch of the provider's events."""
    now = ctx.now()
    try:
        source = ctx.providers.get(provider)
    except WebhookRefused as err:
        logger.warning("webhook refused: %s", err)
        return JSONResponse({"error": str(err)}, status_code=err.status)
    body = await request.body()
    try:
        source.verify(request.headers, body, now)
        events = source.parse(body, now)
    except WebhookRefused as err:
        logger.warning("%s webhook refused: %s", source.title, err)
        return JSONResponse({"error": str(err)}, status_code=err.status)
    report = await run_in_threadpool(_record, ctx, source, events)
    logger.info(
        "%s webhook: %d events, %d recorded, %d duplicates, %d suppressions",
        source.title,
        report.received,
        report.recorded,
        report.duplicates,
        report.suppressed,
    )
    return JSONResponse(asdict(report))


def _record(ctx: WebContext, source: Provider, events: list[ProviderEvent]) -> WebhookReport:
    with ctx.database.session() as session:
        return record_provider_events(
            session, ctx.settings, events, provider=source.name, now=ctx.now()
        )
