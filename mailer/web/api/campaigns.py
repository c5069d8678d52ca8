"""``/api/campaigns``: create, edit (a draft), schedule, send, pause and resume campaigns, and their
statistics.

Each route calls one of :mod:`mailer.campaigns.actions`, as ``mailer campaigns`` does,
so that the same input gets the same answer. Sending runs after the answer (202), in
FastAPI's background tasks, through the same sender as ``mailer campaigns send``
(:mod:`mailer.web.sends`, which the admin's "Send now" uses too); its
progress shows in ``GET /api/campaigns/{id}``. Scheduling only stores ``scheduled_at``:
the scheduler (``mailer run``) sends the campaign when its time comes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path
from sqlalchemy.orm import Session

from mailer.articles import load_text
from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view, get_campaign
from mailer.campaigns.records import list_campaigns as all_campaigns
from mailer.campaigns.stats import campaign_stats
from mailer.exceptions import InputError
from mailer.storage.models import CampaignStatus
from mailer.web.api import audit
from mailer.web.api.schemas import CampaignEditIn, CampaignIn, CampaignOut, ScheduleIn, StatsOut
from mailer.web.context import WebContext, WebDep
from mailer.web.sends import start_send

__all__ = ["router"]

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _out(session: Session, campaign_id: int) -> CampaignOut:
    return CampaignOut.model_validate(campaign_view(session, campaign_id).as_dict())


@router.get("")
def campaigns(ctx: WebDep, status: CampaignStatus | None = None) -> list[CampaignOut]:
    """Every campaign (or those in one state) with its delivery counts."""
    with ctx.database.session() as session:
        views = all_campaigns(session, status=status)
        return [CampaignOut.model_validate(view.as_dict()) for view in views]


@router.post("", status_code=201)
def create(body: CampaignIn, ctx: WebDep) -> CampaignOut:
    """Render an article (given as text) and store it as a draft campaign."""
    article = load_text(body.content, name="api", kind=body.format)
    with ctx.database.session() as session:
        campaign = actions.create(
            session,
            ctx.settings,
            article=article,
            lists=body.lists,
            subject=body.subject,
            segment=body.segment,
            from_address=body.from_address,
            from_name=body.from_name,
            reply_to=body.reply_to,
            ctas=body.ctas,
            template=body.template,
            source="api",
            now=ctx.now(),
        )
        audit.write(
            session,
            ctx,
            "campaign.create",
            f"campaign {campaign.id}",
            subject=campaign.subject,
            lists=", ".join(body.lists),
            source=campaign.source,
        )
        return _out(session, campaign.id)


@router.get("/{campaign_id}")
def show(campaign_id: CampaignId, ctx: WebDep) -> CampaignOut:
    """A campaign's state and delivery counts."""
    with ctx.database.session() as session:
        return _out(session, campaign_id)


@router.patch("/{campaign_id}")
def edit(campaign_id: CampaignId, body: CampaignEditIn, ctx: WebDep) -> CampaignOut:
    """Change a draft and render it again, as ``mailer campaigns edit`` does; what the
    body leaves out stays as it is. Only a draft (409 for any other campaign)."""
    given = body.model_dump(exclude_unset=True, exclude={"format"})
    if not any(value is not None for value in given.values()):
        raise InputError("nothing to change: give content, lists, subject, segment or ctas")
    with ctx.database.session() as session:
        actions.require_draft(get_campaign(session, campaign_id))
        article = (
            None if body.content is None else load_text(body.content, name="api", kind=body.format)
        )
        campaign = actions.edit(
            session,
            ctx.settings,
            campaign_id,
            article=article,
            source=None if article is None else "api",
            subject=body.subject,
            lists=body.lists,
            segment=body.segment,
            ctas=body.ctas,
        )
        audit.write(
            session,
            ctx,
            "campaign.edit",
            f"campaign {campaign_id}",
            subject=campaign.subject,
            lists=", ".join(m.name for m in campaign.lists),
            source=campaign.source,
        )
        return _out(session, campaign_id)


@router.post("/{campaign_id}/schedule")
def schedule(campaign_id: CampaignId, body: ScheduleIn, ctx: WebDep) -> CampaignOut:
    """Set when a draft (or scheduled) campaign is sent; the scheduler sends it then."""
    with ctx.database.session() as session:
        done = actions.schedule(
            session,
            ctx.settings,
            campaign_id,
            body.at,
            now=ctx.now(),
            tz=body.tz,
            local_time=body.local_time,
            assume_zone=False,
        )
        audit.write(
            session,
            ctx,
            "campaign.schedule",
            f"campaign {campaign_id}",
            at=done.when.isoformat(),
            local_time=body.local_time,
        )
        return _out(session, campaign_id)


@router.post("/{campaign_id}/send", status_code=202)
def send(campaign_id: CampaignId, ctx: WebDep, background: BackgroundTasks) -> CampaignOut:
    """Start sending a draft or scheduled campaign now (after the answer)."""
    return _start(ctx, background, campaign_id, "send")


@router.post("/{campaign_id}/resume", status_code=202)
def resume(campaign_id: CampaignId, ctx: WebDep, background: BackgroundTasks) -> CampaignOut:
    """Go on sending a paused or failed campaign (after the answer)."""
    return _start(ctx, background, campaign_id, "resume")


@router.post("/{campaign_id}/pause")
def pause(campaign_id: CampaignId, ctx: WebDep) -> CampaignOut:
    """Pause a campaign being sent; its sender stops after the batch in hand."""
    with ctx.database.session() as session:
        actions.pause(session, campaign_id, reason="paused through the API", now=ctx.now())
        audit.write(session, ctx, "campaign.pause", f"campaign {campaign_id}")
        return _out(session, campaign_id)


@router.get("/{campaign_id}/stats")
def stats(campaign_id: CampaignId, ctx: WebDep) -> StatsOut:
    """Sent, delivered, bounced, opened, clicked (per link, and the calls-to-action),
    unsubscribed and complaints."""
    with ctx.database.session() as session:
        return StatsOut.model_validate(campaign_stats(session, campaign_id))


def _start(
    ctx: WebContext, background: BackgroundTasks, campaign_id: int, action: str
) -> CampaignOut:
    with ctx.database.session() as session:
        start_send(
            session,
            ctx,
            background,
            campaign_id,
            resume=action == "resume",
            record=audit.record(ctx, f"campaign.{action}", f"campaign {campaign_id}"),
        )
        return _out(session, campaign_id)
