"""Sending from the admin: send now, resume and pause, and the live page of a campaign
being sent (rate, time left, outcomes from the ledger) that server-sent events keep
up to date. A send starts as the API's does (:mod:`mailer.web.sends`): checked in the
request, sent after the answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, BackgroundTasks, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from mailer.accounts.audit import audit
from mailer.campaigns import actions
from mailer.campaigns.records import delivery_counts
from mailer.exceptions import NotFound
from mailer.storage.accounts import Role
from mailer.storage.models import Campaign, CampaignStatus
from mailer.web.admin.auth import Viewer
from mailer.web.admin.campaigns import allowed
from mailer.web.admin.forms import Form
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebContext, WebDep
from mailer.web.sends import start_send

__all__ = ["figures", "router"]

router = APIRouter()

#: Seconds between two events of the live page.
INTERVAL = 1.0


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def figures(session: Session, campaign_id: int, now: datetime) -> dict[str, Any]:
    """Where a send stands: the ledger's counts by status (one grouped count on
    ix_deliveries_campaign_status), the rate since it started and the time left."""
    row = session.execute(
        select(Campaign.status, Campaign.status_reason, Campaign.started_at).where(
            Campaign.id == campaign_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("campaign", str(campaign_id), "the campaigns page lists them")
    status, reason, started = CampaignStatus(row[0]), row[1], row[2]
    counts = delivery_counts(session, [campaign_id]).get(campaign_id, {})
    pending = counts.get("pending", 0) + counts.get("sending", 0)
    handed = counts.get("sent", 0) + counts.get("failed", 0)
    total = sum(counts.values())
    rate: float | None = None
    if started is not None:
        start = started if started.tzinfo else started.replace(tzinfo=UTC)
        elapsed = (now - start).total_seconds()
        rate = handed / elapsed if elapsed > 0 and handed else None
    return {
        "status": status.value,
        "reason": reason,
        **{k: counts.get(k, 0) for k in ("sent", "failed", "skipped", "unknown")},
        "pending": pending,
        "handled": total - pending,
        "handled_max": total,
        "rate": f"{rate:,.1f}/s" if rate else "–",
        "eta": _eta(pending / rate if rate and status is CampaignStatus.SENDING else None),
        "done": status is not CampaignStatus.SENDING,
    }


def _read(ctx: WebContext, campaign_id: int) -> dict[str, Any]:
    with ctx.database.session() as session:
        return figures(session, campaign_id, ctx.now())


@router.get("/campaigns/{campaign_id:int}/sending")
def sending_page(
    request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, campaign_id: int
) -> Response:
    with ctx.database.session() as session:
        subject = session.scalar(select(Campaign.subject).where(Campaign.id == campaign_id))
        live = figures(session, campaign_id, ctx.now())
    return pages.page(
        request,
        admin,
        "campaign_sending.html",
        title=f"Sending: {subject}",
        campaign_id=campaign_id,
        live=live,
        allowed=allowed(CampaignStatus(live["status"])),
        can_send=admin.can(Role.ADMIN),
    )


@router.get("/campaigns/{campaign_id:int}/progress")
async def progress(
    ctx: WebDep, admin: Viewer, campaign_id: int, once: bool = False
) -> StreamingResponse:
    """The live page's events: the figures every second (``once``: one event) until the
    campaign is no longer sending, then ``{"done": true}``. No session stays open
    between two events."""
    first = await anyio.to_thread.run_sync(_read, ctx, campaign_id)  # a 404 before streaming

    async def events() -> AsyncIterator[str]:
        data = first
        while True:
            yield f"data: {json.dumps(data)}\n\n"
            if data["done"] or once:
                return
            await anyio.sleep(INTERVAL)
            data = await anyio.to_thread.run_sync(_read, ctx, campaign_id)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )


def _start(
    ctx: WebContext, background: BackgroundTasks, email: str, campaign_id: int, resume: bool
) -> None:
    action = "campaign.resume" if resume else "campaign.send"

    def record(session: Session) -> None:
        audit(session, email, action, f"campaign {campaign_id}", now=ctx.now())

    with ctx.database.session() as session:
        start_send(session, ctx, background, campaign_id, resume=resume, record=record)


@router.post("/campaigns/{campaign_id:int}/send")
def send_now(
    ctx: WebDep,
    pages: PagesDep,
    admin: Viewer,
    form: Form,
    background: BackgroundTasks,
    campaign_id: int,
) -> Response:
    admin.needs(Role.ADMIN, "Sending a campaign")
    _start(ctx, background, admin.email, campaign_id, resume=False)
    return pages.redirect(
        f"/admin/campaigns/{campaign_id}/sending", f"Campaign {campaign_id} is being sent."
    )


@router.post("/campaigns/{campaign_id:int}/resume")
def resume(
    ctx: WebDep,
    pages: PagesDep,
    admin: Viewer,
    form: Form,
    background: BackgroundTasks,
    campaign_id: int,
) -> Response:
    admin.needs(Role.ADMIN, "Sending a campaign")
    _start(ctx, background, admin.email, campaign_id, resume=True)
    return pages.redirect(
        f"/admin/campaigns/{campaign_id}/sending", f"Campaign {campaign_id} goes on."
    )


@router.post("/campaigns/{campaign_id:int}/pause")
def pause(ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form, campaign_id: int) -> Response:
    admin.needs(Role.ADMIN, "Pausing a campaign")
    now = ctx.now()
    with ctx.database.session() as session:
        actions.pause(session, campaign_id, reason=f"paused by {admin.email}", now=now)
        audit(session, admin.email, "campaign.pause", f"campaign {campaign_id}", now=now)
    return pages.redirect(
        f"/admin/campaigns/{campaign_id}",
        f"Campaign {campaign_id} paused; its sender stops after the batch in hand.",
    )
