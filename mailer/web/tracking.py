"""Open and click tracking: ``GET /o/{token}.gif`` and ``GET /c/{token}/{n}``.

A campaign with tracking on has each tracked link rewritten to ``/c/<token>/<n>`` and an
open pixel ``/o/<token>.gif``, where the token (purpose ``click``) is signed per
recipient with ``extra = "<campaign id>.<delivery id>"`` and ``n`` is the link's number
in ``Campaign.links``. A click leads only to that campaign's own link number ``n``: no
one can use us to redirect anywhere else. A link to the web app itself is kept as its
path and leads to the ``base_url`` in force. The pixel is always the pixel, whatever is
wrong with the token, since a mail client would show an error as a broken image.

Opens are counted as mail clients fetch images, which some do for every message they
receive (Apple's Mail Privacy Protection): treat open counts as an upper bound.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from mailer.campaigns.tracking import link_target
from mailer.storage.events import EventKind
from mailer.storage.models import Campaign, Delivery
from mailer.tokens import BadToken, TokenData, verify
from mailer.web.context import WebContext, WebDep
from mailer.web.recording import record

__all__ = ["PIXEL", "router", "tracked_delivery"]

router = APIRouter(include_in_schema=False)

#: A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_PIXEL_HEADERS = {
    "cache-control": "no-store, no-cache, must-revalidate, private",
    # Mail clients show it inside other sites' pages (webmail).
    "cross-origin-resource-policy": "cross-origin",
}
LinkNumber = Annotated[int, Path(ge=0, le=10_000)]


def tracked_delivery(session: Session, data: TokenData) -> tuple[Campaign, Delivery] | None:
    """The campaign and ledger row a tracking token names, if both still exist and
    belong together (a forgotten subscriber's ledger rows are gone)."""
    campaign_id, _, delivery_id = data.extra.partition(".")
    if not _number(campaign_id) or not _number(delivery_id):
        return None
    campaign = session.get(Campaign, int(campaign_id))
    delivery = session.get(Delivery, int(delivery_id))
    if campaign is None or delivery is None:
        return None
    if delivery.campaign_id != campaign.id or delivery.subscriber_id != data.subscriber_id:
        return None
    return campaign, delivery


def _record(
    ctx: WebContext,
    session: Session,
    data: TokenData,
    kind: EventKind,
    *,
    link_index: int | None = None,
    url: str = "",
) -> None:
    """An open or a click of the message ``data`` names, if it still exists."""
    found = tracked_delivery(session, data)
    if found is None:
        return
    campaign, delivery = found
    record(
        session,
        kind,
        occurred_at=ctx.now(),
        campaign_id=campaign.id,
        delivery_id=delivery.id,
        subscriber_id=delivery.subscriber_id,
        list_id=delivery.list_id,
        link_index=link_index,
        url=url,
    )


def _verify(ctx: WebContext, token: str) -> TokenData | None:
    try:
        return verify(ctx.secret, token, "click")
    except BadToken:
        return None


@router.get("/o/{token}.gif")
def opened(token: str, ctx: WebDep) -> Response:
    """Record an open; always the pixel."""
    data = _verify(ctx, token)
    if data is not None:
        with ctx.database.session() as session:
            _record(ctx, session, data, EventKind.OPENED)
    return Response(PIXEL, media_type="image/gif", headers=_PIXEL_HEADERS)


@router.get("/c/{token}/{n}")
def clicked(token: str, n: LinkNumber, ctx: WebDep) -> Response:
    """Record a click and lead on to the campaign's link number ``n``."""
    data = _verify(ctx, token)
    if data is None:
        return ctx.pages.message(
            "This link does not work",
            "It may have been cut off or changed on its way. Open it again from the email.",
            status_code=400,
        )
    campaign_id, _, _ = data.extra.partition(".")
    with ctx.database.session() as session:
        campaign = session.get(Campaign, int(campaign_id)) if _number(campaign_id) else None
        links = campaign.links if campaign is not None else []
        url = link_target(links[n], ctx.settings.base_url) if n < len(links) else ""
        if campaign is None or not _web_url(url):
            return ctx.pages.message(
                "Link not found",
                "This email has no such link.",
                status_code=404,
            )
        _record(ctx, session, data, EventKind.CLICKED, link_index=n, url=url)
    return RedirectResponse(url, status_code=302, headers={"cache-control": "no-store"})


def _number(text: str) -> bool:
    """A row id as our tokens carry it (the digits 0-9, and within a BIGINT)."""
    return text.isascii() and text.isdigit() and len(text) < 19


def _web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(ch in url for ch in "\r\n")
