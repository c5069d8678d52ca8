"""``/admin/audit``: who changed what, and when, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from mailer.accounts.audit import recent_entries
from mailer.web.admin.auth import Viewer
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebDep

__all__ = ["router"]

router = APIRouter()

PAGE = 50


@router.get("/audit")
def audit_page(
    request: Request,
    ctx: WebDep,
    pages: PagesDep,
    admin: Viewer,
    before: int | None = Query(None, ge=1, le=2**62),
    actor: str = Query("", max_length=320),
    action: str = Query("", max_length=64),
) -> Response:
    actor, action = actor.strip(), action.strip()
    with ctx.database.session() as session:
        entries = recent_entries(session, before=before, actor=actor, action=action, limit=PAGE + 1)
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    return pages.page(
        request,
        admin,
        "audit.html",
        title="Audit log",
        entries=entries,
        actor=actor,
        action=action,
        older=entries[-1].id if more and entries else None,
    )
