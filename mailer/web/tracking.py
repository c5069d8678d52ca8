"""Open and click tracking: ``GET /o/{token}.gif`` and ``GET /c/{token}/{n}``.

A campaign with tracking on has each tracked link rewritten to ``/c/<token>/<n>`` and an
open pixel ``/o/<token>.gif``, where the token (purpose ``click``) is signed per
recipient with ``extra = "<campaign id>.<delivery id>"`` and ``n`` is the link's number
in ``Campaign.links``. A click leads only to that campaign's own link number ``n``: no
one can use us to redirect anywhere else. A link to the web app itself is kept as its
path and leads to the ``base_url`` in force. The pixel is always the pixel, whatever is
wrong with the token, since a mail client would show an error as a broken image.

A hit costs no database work on its way: the campaign's link targets are cached
(:mod:`mailer.web.caches`), and the event is taken by :mod:`mailer.web.hits`, which
writes it with others in a batch. The routes are coroutines for that reason: nothing in
them waits (a cache miss loads in a thread), and a thread each would cost more than the
hit itself.

Opens are counted as mail clients fetch images, which some do for every message they
receive (Apple's Mail Privacy Protection): treat open counts as an upper bound.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from mailer.campaigns.tracking import link_target
from mailer.storage.database import Database
from mailer.storage.events import EventKind
from mailer.storage.models import Campaign
from mailer.tokens import BadToken, TokenData, row_id, verify
from mailer.web.context import WebContext, WebDep
from mailer.web.hits import Hit

__all__ = ["PIXEL", "link_targets", "router"]

router = APIRouter(include_in_schema=False)

#: A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_PIXEL_HEADERS = {
    "cache-control": "no-store, no-cache, must-revalidate, private",
    # Mail clients show it inside other sites' pages (webmail).
    "cross-origin-resource-policy": "cross-origin",
}
LinkNumber = Annotated[int, Path(ge=0, le=10_000)]


def link_targets(database: Database, base_url: str, campaign_id: int) -> tuple[str, ...] | None:
    """Where each of the campaign's link numbers leads (what a click needs of it, read
    without its stored article), or None if there is no such campaign."""
    with database.session() as session:
        links = session.scalar(select(Campaign.links).where(Campaign.id == campaign_id))
    if links is None:
        return None
    return tuple(link_target(link, base_url) for link in links)


def _hit(
    ctx: WebContext,
    data: TokenData,
    kind: EventKind,
    *,
    link_index: int | None = None,
    url: str = "",
) -> None:
    """Take an open or a click of the message ``data`` names; the writer stores it if
    that ledger row still exists and belongs to the token's campaign and subscriber (a
    forgotten subscriber's rows are gone)."""
    campaign, _, delivery = data.extra.partition(".")
    campaign_id, delivery_id = row_id(campaign), row_id(delivery)
    if campaign_id is None or delivery_id is None:
        return
    ctx.hits.put(
        Hit(
            kind,
            campaign_id,
            delivery_id,
            data.subscriber_id,
            ctx.now(),
            link_index=link_index,
            url=url,
        )
    )


def _verify(ctx: WebContext, token: str) -> TokenData | None:
    try:
        return verify(ctx.secret, token, "click")
    except BadToken:
        return None


@router.get("/o/{token}.gif")
async def opened(token: str, ctx: WebDep) -> Response:
    """Record an open; always the pixel."""
    data = _verify(ctx, token)
    if data is not None:
        _hit(ctx, data, EventKind.OPENED)
    return Response(PIXEL, media_type="image/gif", headers=_PIXEL_HEADERS)


@router.get("/c/{token}/{n}")
async def clicked(token: str, n: LinkNumber, ctx: WebDep) -> Response:
    """Record a click and lead on to the campaign's link number ``n``."""
    data = _verify(ctx, token)
    if data is None:
        return ctx.pages.message(
            "This link does not work",
            "It may have been cut off or changed on its way. Open it again from the email.",
            status_code=400,
        )
    campaign_id = row_id(data.extra.partition(".")[0])
    targets = await ctx.links.aget(campaign_id) if campaign_id is not None else None
    url = targets[n] if targets is not None and n < len(targets) else ""
    if not _web_url(url):
        return ctx.pages.message(
            "Link not found",
            "This email has no such link.",
            status_code=404,
        )
    _hit(ctx, data, EventKind.CLICKED, link_index=n, url=url)
    return RedirectResponse(url, status_code=302, headers={"cache-control": "no-store"})


def _web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(ch in url for ch in "\r\n")
