"""The app factory: ``create_app(settings)`` is the whole web app.

Tests hand in a database, a clock and a mail backend of their own; ``mailer serve``
gives only the settings, and the app opens (and on shutdown closes) the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from mailer import __version__
from mailer.delivery.backends import get_backend
from mailer.delivery.base import Backend
from mailer.events.providers import ProviderRegistry, build_registry
from mailer.settings import Settings
from mailer.storage.database import Database, open_database
from mailer.storage.types import utcnow
from mailer.web import (
    admin,
    api,
    archive,
    health,
    preferences,
    subscribe,
    tracking,
    unsubscribe,
    webhooks,
)
from mailer.web.access_log import AccessLog
from mailer.web.archive import published_page
from mailer.web.caches import CampaignCache
from mailer.web.context import WebContext
from mailer.web.errors import CatchAll, ErrorAnswers, install_error_handlers
from mailer.web.group_commit import GroupCommit
from mailer.web.headers import SecurityHeaders
from mailer.web.hits import HitWriter
from mailer.web.leaving import leave_all
from mailer.web.limits import SizeLimit
from mailer.web.ratelimit import SubscribeLimits, subscribe_limits
from mailer.web.templating import Pages
from mailer.web.tracking import link_targets

__all__ = ["create_app"]

#: The subscribe rate limits count attempts over this many seconds.
RATE_WINDOW = 3600


def create_app(
    settings: Settings,
    database: Database | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    backend: Callable[[Settings], Backend] = get_backend,
    providers: ProviderRegistry | None = None,
) -> FastAPI:
    """The web app for ``settings``: public pages, tracking, the providers' webhooks and
    the admin API under ``/api`` (its OpenAPI description at ``/openapi.json``).
    ``providers`` defaults to the registry the settings make (SendGrid's when its key is
    set)."""
    owned = database is None
    db = database if database is not None else open_database(settings.database_url)
    registry = providers if providers is not None else build_registry(settings)
    limits = _limits(settings, db, clock)
    context = _context(settings, db, clock, backend, registry, limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # The opens and clicks still in memory are stored before the database closes.
        await run_in_threadpool(context.hits.close)
        await run_in_threadpool(context.durable.close)
        await run_in_threadpool(limits.close)
        if owned:
            db.close()

    app = FastAPI(
        title=f"{settings.publisher_name}: mailer API",
        version=__version__,
        description="Lists, subscribers, campaigns and their statistics. Every request "
        "needs `Authorization: Bearer <api_token>` (the api_token of mailer.toml).",
        # The interactive docs load scripts from a CDN; our pages load nothing from
        # elsewhere. The description itself is served.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.web = context
    # The busiest routes first: a request is matched against the routes in order, and
    # the admin's and the API's are many (their paths and these never overlap).
    for module in (tracking, archive, unsubscribe, subscribe, preferences, webhooks, health):
        app.include_router(module.router)
    answers = ErrorAnswers(context.pages, admin.install(app, settings))
    install_error_handlers(app, answers)
    app.include_router(api.router)
    _add_middleware(app, settings, answers)
    return app


def _context(
    settings: Settings,
    db: Database,
    clock: Callable[[], datetime],
    backend: Callable[[Settings], Backend],
    providers: ProviderRegistry,
    limits: SubscribeLimits,
) -> WebContext:
    """What every request shares."""
    return WebContext(
        settings=settings,
        database=db,
        clock=clock,
        pages=Pages(settings),
        backend=backend,
        ip_limit=limits.ip,
        address_limit=limits.address,
        providers=providers,
        hits=HitWriter(db),
        durable=GroupCommit(db, leave_all),
        links=CampaignCache(lambda id: link_targets(db, settings.base_url, id)),
        archive_pages=CampaignCache(lambda id: published_page(db, settings, id)),
    )


def _limits(settings: Settings, db: Database, clock: Callable[[], datetime]) -> SubscribeLimits:
    """The subscribe limits: in Redis when redis_url is set, else in the database."""
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None

    def seconds() -> float:
        return clock().timestamp()

    return subscribe_limits(db, settings.subscribe_rate_limit, RATE_WINDOW, seconds, redis_url)


def _add_middleware(app: FastAPI, settings: Settings, answers: ErrorAnswers) -> None:
    """Size limits, the catch-all 500, the access log and the security headers."""
    # Each middleware wraps the ones added before it: the headers go on every answer,
    # the 413 of the size limit included.
    app.add_middleware(
        SizeLimit,
        default=settings.max_request_bytes,
        paths=[
            (r"/webhooks/.*", settings.max_webhook_bytes),
            (r"/api/lists/[^/]+/import", settings.max_import_bytes),
            # The admin's upload: the file and its multipart wrapping.
            (r"/admin/lists/[^/]+/import", settings.max_import_bytes + 64 * 1024),
            # The composer takes an uploaded article.
            (r"/admin/campaigns/new(/email)?", settings.max_import_bytes + 64 * 1024),
        ],
    )
    app.add_middleware(CatchAll, answers=answers)
    app.add_middleware(AccessLog)
    app.add_middleware(SecurityHeaders, https=settings.base_url.startswith("https://"))
