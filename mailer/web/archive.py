"""``/archive``: the campaigns sent, as web pages (the view-in-browser link).

A campaign is stored rendered once, with per-recipient tokens in it. Its web copy fills
them for nobody: subscriber fields empty (templates show their fallbacks, "friend"),
the unsubscribe and settings links pointing at pages that explain where the reader's
own links are, links going straight to where they lead, and no open pixel.
"""

from __future__ import annotations

import html
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select
from starlette.responses import HTMLResponse, Response

from mailer.campaigns.tracking import link_target
from mailer.exceptions import MailerError
from mailer.rendering import Filler, RenderedEmail
from mailer.rendering.substitution import TOKEN_PATTERN
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.models import Campaign, CampaignStatus
from mailer.web.context import WebDep

__all__ = ["archive_html", "archive_subject", "published_page", "router"]

router = APIRouter(include_in_schema=False)

PUBLISHED = (CampaignStatus.SENDING, CampaignStatus.SENT)
#: Emails load their images from anywhere and style themselves inline.
ARCHIVE_POLICY = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _neutral_values(settings: Settings, rendered: RenderedEmail) -> dict[str, str]:
    context = {
        "subscriber": {"email": "", "name": "", "attributes": {}, "tags": [], "timezone": None},
        "unsubscribe_url": f"{settings.base_url}/unsubscribe",
        "preferences_url": f"{settings.base_url}/preferences",
        "confirm_url": f"{settings.base_url}/archive",
    }
    try:
        return rendered.substitutions(context)
    except (MailerError, KeyError, TypeError, ValueError):
        # An expression that needs a real subscriber's data: its place stays empty.
        return {}


def archive_html(settings: Settings, campaign: Campaign) -> str:
    """The campaign's HTML with no one's data in it, and the web app's address of now."""
    rendered = RenderedEmail.from_dict(campaign.rendered).with_base_url(settings.base_url)
    page = Filler(rendered.html).fill(_neutral_values(settings, rendered))
    base = re.escape(settings.base_url)
    links = campaign.links

    def untracked(match: re.Match[str]) -> str:
        n = int(match.group(1))
        target = link_target(links[n], settings.base_url) if n < len(links) else ""
        return html.escape(target or settings.base_url, quote=True)

    # The stored HTML has no tracking (it is added to each message as it is sent); if a
    # template ever stores tracked links, they lead straight on here, counted nowhere.
    page = re.sub(base + r"/c/%%track%%/(\d+)", untracked, page)
    page = re.sub(r"<img\b[^>]*?/o/%%track%%\.gif[^>]*>", "", page)
    # Whatever token is left would only show as %%name%%.
    return TOKEN_PATTERN.sub("", page)


def archive_subject(settings: Settings, campaign: Campaign) -> str:
    """The subject as nobody in particular gets it."""
    rendered = RenderedEmail.from_dict(campaign.rendered)
    subject = Filler(rendered.subject).fill(_neutral_values(settings, rendered))
    return " ".join(TOKEN_PATTERN.sub("", subject).split()) or campaign.subject


@router.get("/archive")
def archive_index(ctx: WebDep) -> Response:
    """Every campaign sent, newest first."""
    with ctx.database.session() as session:
        campaigns = session.scalars(
            select(Campaign)
            .where(Campaign.status.in_(PUBLISHED))
            .order_by(Campaign.started_at.desc(), Campaign.id.desc())
        ).all()
        items: list[dict[str, Any]] = [
            {
                "url": f"/archive/{c.id}",
                "subject": archive_subject(ctx.settings, c),
                "date": f"{c.started_at.astimezone(ctx.settings.zone):%d %B %Y}"
                if c.started_at
                else "",
            }
            for c in campaigns
        ]
    response = ctx.pages.page("archive.html", title="Archive", campaigns=items)
    response.headers["cache-control"] = "public, max-age=300"
    return response


def published_page(database: Database, settings: Settings, campaign_id: int) -> str | None:
    """The web copy of a sent campaign, or None if there is none to show."""
    with database.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status not in PUBLISHED:
            return None
        return archive_html(settings, campaign)


@router.get("/archive/{campaign_id}")
async def archive_page(campaign_id: CampaignId, ctx: WebDep) -> Response:
    """One campaign's web copy (cached a minute: a big send's readers open it at once)."""
    page = await ctx.archive_pages.aget(campaign_id)
    if page is None:
        return ctx.pages.message(
            "Not in the archive",
            "There is no sent campaign at this address.",
            status_code=404,
            links=[("Everything we have sent", "/archive")],
        )
    return HTMLResponse(
        page,
        headers={"content-security-policy": ARCHIVE_POLICY, "cache-control": "public, max-age=300"},
    )
