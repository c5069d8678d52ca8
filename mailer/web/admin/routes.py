"""The admin's routes under ``/admin``, and the answers to a missing sign-in, a role
that is short, and a form without its token."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import RedirectResponse, Response

from mailer.exceptions import NotAllowed
from mailer.settings import Settings
from mailer.web.admin import (
    audit_log,
    campaigns,
    compose,
    dashboard,
    digests,
    imports,
    lists,
    login,
    preview,
    reports,
    sending,
    settings_page,
    static,
    subscribers,
    users,
)
from mailer.web.admin.auth import SignInRequired
from mailer.web.admin.forms import CsrfRefused
from mailer.web.admin.pages import AdminPages, admin_pages

__all__ = ["PREFIX", "ROUTERS", "install", "router"]

PREFIX = "/admin"
#: Each section's routes, relative to the prefix. A new section adds its router here.
#: The composer's /campaigns/new comes before any /campaigns/{id} route.
ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
    for module in (
        login,
        static,
        dashboard,
        users,
        audit_log,
        lists,
        imports,
        subscribers,
        compose,
        preview,
        campaigns,
        sending,
        reports,
        digests,
        settings_page,
    )
)

router = APIRouter(include_in_schema=False)
for _section in ROUTERS:
    # A prefix for each: the dashboard's own path is the prefix alone.
    router.include_router(_section, prefix=PREFIX)


def install(app: FastAPI, settings: Settings) -> AdminPages:
    """Adds the admin to ``app``: its pages, routes and error answers."""
    pages = app.state.admin_pages = AdminPages(settings)
    app.include_router(router)

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(f"/admin/login?next={quote(exc.next_path)}", status_code=303)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotAllowed)
        return admin_pages(request).error(
            request.url.path,
            403,
            "Not allowed",
            f"{exc}. Ask an admin of this site if you need it.",
        )

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return admin_pages(request).error(
            request.url.path,
            403,
            "This form cannot be sent",
            "It has expired, or it came from another site. Go back, reload the page and try again.",
        )

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(NotAllowed, not_allowed)
    app.add_exception_handler(CsrfRefused, csrf_refused)
    return pages
