"""``/admin/campaigns/{id}/preview``: a campaign's stored email as a reader gets it, at a
phone's and a desktop's width and in dark mode, with its size against Gmail's clipping
and the render report's warnings; and the test send.

The email itself is served by ``.../preview/email`` for the page's frames: filled for a
sample reader (no name, so fallbacks show), under a policy of its own that lets it style
itself inline and show images from anywhere, but be framed only by our own pages; the
frames are sandboxed, so that nothing in an email runs with the admin's sign-in.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import HTMLResponse, Response

from mailer.accounts.audit import audit
from mailer.campaigns import actions
from mailer.campaigns.records import get_campaign
from mailer.delivery.message import Outcome, RecipientResult
from mailer.exceptions import MailerError
from mailer.rendering import CLIP_BYTES, WARN_BYTES, RenderedEmail
from mailer.rendering.preview import DESKTOP_WIDTH, PHONE_WIDTH, dark_mode, preview_context
from mailer.rendering.substitution import TOKEN_PATTERN
from mailer.web.admin.auth import Admin, Editor
from mailer.web.admin.forms import Form, field
from mailer.web.admin.pages import AdminPages, PagesDep
from mailer.web.context import WebContext, WebDep

__all__ = ["PREVIEW_POLICY", "framed_email", "router"]

router = APIRouter()

#: The email styles itself inline and loads its images from anywhere; only our own
#: pages may frame it.
PREVIEW_POLICY = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
    "form-action 'none'; frame-ancestors 'self'; base-uri 'none'"
)
CampaignId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_SPLIT = re.compile(r"[\s,;]+")


def _sample(ctx: WebContext, campaign_id: int) -> tuple[RenderedEmail, str, str]:
    """The stored email with the web app's address of now, and its subject and HTML
    for the sample reader."""
    with ctx.database.session() as session:
        stored = get_campaign(session, campaign_id).rendered
    rendered = RenderedEmail.from_dict(stored).with_base_url(ctx.settings.base_url)
    subject, html, _ = rendered.fill(preview_context(ctx.settings))
    return rendered, subject, TOKEN_PATTERN.sub("", html)


def _page(
    request: Request,
    ctx: WebContext,
    pages: AdminPages,
    admin: Admin,
    campaign_id: int,
    status_code: int = 200,
    **shown: Any,
) -> Response:
    with ctx.database.session() as session:
        campaign = get_campaign(session, campaign_id)
        status, lists = campaign.status.value, [m.title for m in campaign.lists]
    rendered, subject, _ = _sample(ctx, campaign_id)
    report = rendered.report
    frames = [
        ("Desktop", DESKTOP_WIDTH, False),
        ("Phone", PHONE_WIDTH, False),
        ("Phone, dark mode", PHONE_WIDTH, True),
    ]
    context: dict[str, Any] = {"problem": "", "addresses": admin.email}
    context.update(shown)
    return pages.page(
        request,
        admin,
        "preview.html",
        status_code,
        title=f"Preview: {subject}",
        campaign_id=campaign_id,
        status=status,
        lists=lists,
        subject=subject,
        report=report,
        clip_kb=CLIP_BYTES / 1024,
        size_kb=report.size_bytes / 1024,
        near_clip=report.size_bytes > WARN_BYTES,
        frames=frames,
        **context,
    )


@router.get("/campaigns/{campaign_id}/preview")
def preview_page(
    request: Request, campaign_id: CampaignId, ctx: WebDep, pages: PagesDep, admin: Editor
) -> Response:
    return _page(request, ctx, pages, admin, campaign_id)


def framed_email(html: str, status_code: int = 200) -> HTMLResponse:
    """An email for a frame of our pages: its links open in a tab of their own."""
    html = _HEAD.sub(lambda m: m.group(0) + '<base target="_blank">', html, count=1)
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "content-security-policy": PREVIEW_POLICY,
            "x-frame-options": "SAMEORIGIN",
            "cache-control": "no-store",
        },
    )


@router.get("/campaigns/{campaign_id}/preview/email")
def preview_email(
    campaign_id: CampaignId, ctx: WebDep, admin: Editor, dark: bool = False
) -> Response:
    """The email for a frame of the preview page (``?dark=1``: in dark mode)."""
    _, _, html = _sample(ctx, campaign_id)
    return framed_email(dark_mode(html) if dark else html)


def _said(address: str, result: RecipientResult) -> str:
    if result.outcome is Outcome.SENT:
        return f"{address}: sent"
    if result.outcome is Outcome.UNKNOWN:
        return f"{address}: may have arrived (the server's answer was lost): {result.error}"
    return f"{address}: not sent: {result.error}"


@router.post("/campaigns/{campaign_id}/test")
def send_test(
    request: Request,
    campaign_id: CampaignId,
    ctx: WebDep,
    pages: PagesDep,
    admin: Editor,
    form: Form,
) -> Response:
    """The campaign's real message, marked as a test, to the addresses given (the
    signed-in account's own by default)."""
    typed = field(form, "addresses")
    addresses = [a for a in _SPLIT.split(typed) if a] or [admin.email]
    try:
        results = actions.send_test(
            ctx.database, ctx.settings, campaign_id, addresses, backend=ctx.backend(ctx.settings)
        )
    except MailerError as err:
        return _page(
            request, ctx, pages, admin, campaign_id, 422, problem=str(err), addresses=typed
        )
    said = [_said(a, r) for a, r in zip(addresses, results, strict=True)]
    with ctx.database.session() as session:
        audit(
            session,
            admin.email,
            "campaign.test",
            f"campaign {campaign_id}",
            now=ctx.now(),
            to=", ".join(addresses),
            sent=sum(r.outcome is Outcome.SENT for r in results),
        )
    _, subject, _ = _sample(ctx, campaign_id)
    return pages.redirect(
        f"/admin/campaigns/{campaign_id}/preview",
        f"Test of “[TEST] {subject}”: " + "; ".join(said) + ".",
    )
