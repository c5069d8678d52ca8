"""``/admin``: the lists with their counts, the campaigns sent lately with their rates,
and what is scheduled next (:mod:`mailer.campaigns.report` counts them, as the report
pages do)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mailer.campaigns.report import recent_campaigns, upcoming
from mailer.subscribers.lists import list_counts
from mailer.web.admin.auth import Viewer
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebDep

__all__ = ["router"]

router = APIRouter()


@router.get("")
def dashboard(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer) -> Response:
    with ctx.database.session() as session:
        lists = list_counts(session)
        recent = recent_campaigns(session, 10)
        next_up = upcoming(session, ctx.now(), 10)
    return pages.page(
        request,
        admin,
        "dashboard.html",
        title="Dashboard",
        lists=lists,
        recent=recent,
        upcoming=next_up,
    )
