"""``/admin/digests``: the recurring digests, their feeds and schedules and how their
last run went; an admin pauses and resumes them as ``mailer digests`` does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mailer.accounts.audit import audit
from mailer.scheduling.digests import digest_dict, list_digests, set_paused
from mailer.storage.accounts import Role
from mailer.web.admin.auth import Viewer
from mailer.web.admin.forms import Form, field
from mailer.web.admin.pages import PagesDep
from mailer.web.context import WebDep

__all__ = ["router"]

router = APIRouter()


@router.get("/digests")
def digests_page(request: Request, ctx: WebDep, pages: PagesDep, admin: Viewer) -> Response:
    now = ctx.now()
    with ctx.database.session() as session:
        digests = [digest_dict(d, now) for d in list_digests(session)]
    return pages.page(
        request,
        admin,
        "digests.html",
        title="Digests",
        digests=digests,
        can_manage=admin.can(Role.ADMIN),
    )


def _set(ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form, paused: bool) -> Response:
    admin.needs(Role.ADMIN, "Pausing a digest" if paused else "Resuming a digest")
    name = field(form, "name")
    with ctx.database.session() as session:
        digest = set_paused(session, name, paused)
        action = "digest.pause" if paused else "digest.resume"
        audit(session, admin.email, action, f"digest {digest.name}", now=ctx.now())
    said = "paused" if paused else "runs on its schedule again"
    return pages.redirect("/admin/digests", f"Digest {name} {said}.")


@router.post("/digests/pause")
def pause(ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    return _set(ctx, pages, admin, form, True)


@router.post("/digests/resume")
def resume(ctx: WebDep, pages: PagesDep, admin: Viewer, form: Form) -> Response:
    return _set(ctx, pages, admin, form, False)
