"""``/admin``: the lists with their counts, the campaigns sent lately, and what is
scheduled next."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import ColumnElement, UnaryExpression, select
from sqlalchemy.orm import InstrumentedAttribute, Session, defer, selectinload
from starlette.responses import Response

from mailer.campaigns.records import CampaignView, delivery_counts
from mailer.storage.models import Campaign, CampaignStatus
from mailer.subscribers.lists import list_counts
from mailer.web.admin.auth import Viewer
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebDep

__all__ = ["router"]

router = APIRouter()

_UNDER_WAY = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.FAILED)


def _campaigns(
    session: Session,
    where: ColumnElement[bool],
    order: UnaryExpression[Any] | InstrumentedAttribute[Any],
    limit: int,
) -> list[CampaignView]:
    # Without the stored article and email (tens of KB each): a listing needs neither.
    found = session.scalars(
        select(Campaign)
        .options(defer(Campaign.article), defer(Campaign.rendered), selectinload(Campaign.lists))
        .where(where)
        .order_by(order)
        .limit(limit)
    ).all()
    counts = delivery_counts(session, [c.id for c in found])
    return [CampaignView(c, counts.get(c.id, {})) for c in found]


@router.get("")
def dashboard(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer) -> Response:
    with ctx.database.session() as session:
        lists = list_counts(session)
        recent = _campaigns(
            session,
            Campaign.status.in_([CampaignStatus.SENT, *_UNDER_WAY]),
            Campaign.started_at.desc(),
            10,
        )
        upcoming = _campaigns(
            session,
            Campaign.status == CampaignStatus.SCHEDULED,
            Campaign.scheduled_at,
            10,
        )
    return pages.page(
        request,
        admin,
        "dashboard.html",
        title="Dashboard",
        lists=lists,
        recent=recent,
        upcoming=upcoming,
    )
