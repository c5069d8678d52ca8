"""What every request shares: settings, the database, the clock, the pages, the mail
backend, the subscribe rate limits, the webhook providers, the tracking writer and the
caches. The app factory makes one; routes ask for it with ``ctx: WebDep``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request

from mailer.delivery.base import Backend
from mailer.events.providers import ProviderRegistry
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.web.caches import CampaignCache
from mailer.web.group_commit import GroupCommit
from mailer.web.hits import HitWriter
from mailer.web.ratelimit import RateLimit
from mailer.web.templating import Pages

if TYPE_CHECKING:
    from mailer.web.leaving import Leaving

__all__ = ["WebContext", "WebDep", "web_context"]


@dataclass
class WebContext:
    settings: Settings
    database: Database
    clock: Callable[[], datetime]
    pages: Pages
    # Makes the backend that sends confirmation mail and API-started campaigns.
    backend: Callable[[Settings], Backend]
    ip_limit: RateLimit
    address_limit: RateLimit
    # The providers ``POST /webhooks/{provider}`` serves (and those the settings leave off).
    providers: ProviderRegistry
    # Opens and clicks, written in batches; the campaigns' link targets and archive
    # pages, cached.
    hits: HitWriter
    # Unsubscribes, committed before their answer, those that come together in one commit.
    durable: GroupCommit[Leaving, str | None]
    links: CampaignCache[tuple[str, ...] | None]
    archive_pages: CampaignCache[str | None]

    @property
    def secret(self) -> str:
        return self.settings.secret_key.get_secret_value()

    def now(self) -> datetime:
        return self.clock()


async def web_context(request: Request) -> WebContext:
    # A coroutine: a plain function would be run in a thread for every request.
    return cast(WebContext, request.app.state.web)


WebDep = Annotated[WebContext, Depends(web_context)]
