"""``/admin/campaigns``: the campaigns, newest first, and one campaign's page: what it
is, where it stands (and, when it stopped, why and what to do), and the actions its
state and the signed-in role allow. Sending, pausing and the live page are in
:mod:`.sending`; every action goes through :mod:`mailer.campaigns.actions`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, defer, selectinload
from starlette.responses import Response

from mailer.accounts.audit import audit
from mailer.campaigns import actions
from mailer.campaigns.records import MOVES, CampaignView, campaign_view, delivery_counts
from mailer.exceptions import InputError
from mailer.storage.accounts import Role
from mailer.storage.models import Campaign, CampaignStatus
from mailer.web.admin.auth import Admin, Viewer
from mailer.web.admin.forms import Form, field
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebContext, WebDep

__all__ = ["allowed", "router"]

router = APIRouter()

PAGE = 50


def _listing(
    session: Session, status: CampaignStatus | None, before: int | None
) -> list[CampaignView]:
    # Keyset on the id (newest first), without the stored article and email.
    query = (
        select(Campaign)
        .options(defer(Campaign.article), defer(Campaign.rendered), selectinload(Campaign.lists))
        .order_by(Campaign.id.desc())
        .limit(PAGE + 1)
    )
    if status is not None:
        query = query.where(Campaign.status == status)
    if before is not None:
        query = query.where(Campaign.id < before)
    found = session.scalars(query).all()
    counts = delivery_counts(session, [c.id for c in found])
    return [CampaignView(c, counts.get(c.id, {})) for c in found]


@router.get("/campaigns")
def campaigns_page(
    request: Request,
    ctx: WebDep,
    pages: PagesDep,
    admin: Viewer,
    status: CampaignStatus | None = None,
    before: int | None = Query(None, ge=1, le=2**62),
) -> Response:
    with ctx.database.session() as session:
        views = _listing(session, status, before)
    more = len(views) > PAGE
    views = views[:PAGE]
    return pages.page(
        request,
        admin,
        "campaigns.html",
        title="Campaigns",
        views=views,
        status=status.value if status else "",
        statuses=[s.value for s in CampaignStatus],
        older=views[-1].campaign.id if more and views else None,
    )


def allowed(status: CampaignStatus) -> set[str]:
    """The actions a campaign in ``status`` takes, by the moves of its records."""
    found = {action for action, (sources, _) in MOVES.items() if status in sources}
    if "reschedule" in found:
        found.add("schedule")
    return found


def _hints(view: CampaignView) -> list[str]:
    """What to do about a campaign that stopped, in the CLI's words."""
    c, hints = view.campaign, []
    if c.status is CampaignStatus.PAUSED:
        hints.append("Resume goes on where it stopped; nothing is sent twice.")
    elif c.status is CampaignStatus.FAILED:
        hints.append("Fix what the reason names (the settings, the server), then resume.")
    elif c.status is CampaignStatus.MISSED:
        hints.append(
            "Its time passed while no scheduler ran (mailer run): schedule it again, or cancel it."
        )
    unknown = view.counts.get("unknown", 0)
    if unknown and c.status is not CampaignStatus.CANCELLED:
        hints.append(
            f"{unknown:,} were in flight when a sender stopped and may or may not have "
            "arrived: Resend unknown sends them again (some readers may get it twice)."
        )
    return hints


def campaign_page(
    request: Request,
    ctx: WebContext,
    pages: PagesDep,
    admin: Admin,
    campaign_id: int,
    status_code: int = 200,
    **form: Any,
) -> Response:
    with ctx.database.session() as session:
        view = campaign_view(session, campaign_id)
        page = pages.page(
            request,
            admin,
            "campaign.html",
            status_code=status_code,
            title=view.campaign.subject,
            view=view,
            hints=_hints(view),
            allowed=allowed(view.campaign.status),
            can_send=admin.can(Role.ADMIN),
            can_preview=admin.can(Role.EDITOR),
            can_edit=admin.can(Role.EDITOR) and view.campaign.status is CampaignStatus.DRAFT,
            timezone=ctx.settings.timezone,
            form={"date": "", "time": "", "tz": ctx.settings.timezone, "mode": "at", **form},
        )
    return page


@router.get("/campaigns/{campaign_id:int}")
def show(
    request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, campaign_id: int
) -> Response:
    return campaign_page(request, ctx, pages, admin, campaign_id)


@router.post("/campaigns/{campaign_id:int}/schedule")
def schedule(
    request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form, campaign_id: int
) -> Response:
    admin.needs(Role.ADMIN, "Scheduling a campaign")
    values = {k: field(form, k) for k in ("date", "time", "tz", "mode")}
    local = values["mode"] == "local"
    now = ctx.now()
    try:
        if not values["date"] or not values["time"]:
            raise InputError("give both a date and a time")
        with ctx.database.session() as session:
            status = campaign_view(session, campaign_id).campaign.status
            done = actions.schedule(
                session,
                ctx.settings,
                campaign_id,
                f"{values['date']}T{values['time']}",
                now=now,
                tz=None if local else (values["tz"] or None),
                local_time=local,
                again=status is not CampaignStatus.DRAFT,
            )
            detail = {"at": done.when.isoformat(), "local_time": local}
            audit(
                session,
                admin.email,
                "campaign.schedule",
                f"campaign {campaign_id}",
                now=now,
                **detail,
            )
    except InputError as err:
        return campaign_page(
            request, ctx, pages, admin, campaign_id, 422, problem=str(err), **values
        )
    where = "in each reader's timezone" if local else (values["tz"] or ctx.settings.timezone)
    return pages.redirect(
        f"/admin/campaigns/{campaign_id}",
        f"Campaign {campaign_id} is scheduled for {values['date']} {values['time']} {where}.",
    )


@router.post("/campaigns/{campaign_id:int}/unschedule")
def unschedule(
    ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form, campaign_id: int
) -> Response:
    admin.needs(Role.ADMIN, "Unscheduling a campaign")
    now = ctx.now()
    with ctx.database.session() as session:
        actions.unschedule(session, campaign_id, now=now)
        audit(session, admin.email, "campaign.unschedule", f"campaign {campaign_id}", now=now)
    return pages.redirect(
        f"/admin/campaigns/{campaign_id}", f"Campaign {campaign_id} is a draft again."
    )


@router.post("/campaigns/{campaign_id:int}/cancel")
def cancel(ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form, campaign_id: int) -> Response:
    admin.needs(Role.ADMIN, "Cancelling a campaign")
    now = ctx.now()
    reason = f"cancelled by {admin.email}"

    def record(session: Session) -> None:
        audit(session, admin.email, "campaign.cancel", f"campaign {campaign_id}", now=now)

    done = actions.cancel(ctx.database, campaign_id, reason=reason, now=now, record=record)
    notice = (
        f"Campaign {campaign_id} cancelled; {done.skipped:,} pending messages will not be sent."
    )
    if done.unknown:
        notice += f" {done.unknown:,} were in flight when its sender stopped: they show as unknown."
    return pages.redirect(f"/admin/campaigns/{campaign_id}", notice)


@router.post("/campaigns/{campaign_id:int}/resend-unknown")
def resend_unknown(
    ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form, campaign_id: int
) -> Response:
    admin.needs(Role.ADMIN, "Sending a campaign")
    with ctx.database.session() as session:
        resent = actions.resend_unknown(session, campaign_id)
        audit(
            session,
            admin.email,
            "campaign.resend_unknown",
            f"campaign {campaign_id}",
            now=ctx.now(),
            queued=resent.queued,
        )
        sending = resent.campaign.status is CampaignStatus.SENDING
    then = "the send under way takes them" if sending else "Resume sends them"
    return pages.redirect(
        f"/admin/campaigns/{campaign_id}", f"{resent.queued:,} messages queued again; {then}."
    )
