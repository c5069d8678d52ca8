"""``/admin/campaigns/{id}/report``: what came of a campaign: sent, delivered, opened,
clicked and call-to-action click rates, opens and clicks over time (an SVG chart and
its table), per-link clicks with the calls-to-action apart, bounces, complaints and
unsubscribes. The counts are :func:`mailer.campaigns.stats.campaign_stats`', as the
CLI and the API show them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mailer.campaigns.report import timeline
from mailer.campaigns.stats import campaign_stats
from mailer.web.admin.auth import Viewer
from mailer.web.admin.pages import PagesDep
from mailer.web.charts import timeline_chart
from mailer.web.context import WebDep

__all__ = ["router"]

router = APIRouter()


@router.get("/campaigns/{campaign_id:int}/report")
def report(
    request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer, campaign_id: int
) -> Response:
    with ctx.database.session() as session:
        stats = campaign_stats(session, campaign_id)
        line = timeline(session, campaign_id, buckets="auto")
    base = stats["delivered"] or stats["sent"]
    cta = stats["cta_clicks"]["unique"]
    return pages.page(
        request,
        admin,
        "report.html",
        title=f"Report: {stats['subject']}",
        stats=stats,
        cta_rate=round(cta / base, 4) if base else 0.0,
        buckets=line.buckets,
        chart=timeline_chart(line.buckets, title="Opens and clicks over time")
        if line.buckets
        else None,
    )
