"""``/admin/campaigns/new``: the composer. The article (Markdown typed in, pasted text,
an uploaded file or a web address), the subject tried on a reader of the list, the
lists and segment with their count of recipients, and the calls-to-action; saving makes
a draft through :func:`mailer.campaigns.actions.create`, as the CLI and the API do.
``/admin/campaigns/{id}/edit`` is the same form filled from a draft; saving goes
through :func:`mailer.campaigns.actions.edit`, as ``mailer campaigns edit`` does.

Every button posts the whole form, so the page works without JavaScript; compose.js
only adds the count while lists and segment change (``GET .../count``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from markupsafe import escape
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from mailer.accounts.audit import audit
from mailer.articles import Article
from mailer.campaigns import actions
from mailer.campaigns.records import check_subject, get_campaign, stored_articles
from mailer.exceptions import InputError, MailerError
from mailer.rendering import render_email
from mailer.rendering.preview import dark_mode, preview_context
from mailer.rendering.subject import SubjectTry, try_subject
from mailer.subscribers.audience import Audience, count_recipients, sample_member
from mailer.subscribers.lists import get_list, list_counts
from mailer.web.admin.auth import Admin, Editor
from mailer.web.admin.compose_form import (
    EDIT_SOURCES,
    FORMATS,
    SOURCES,
    Draft,
    draft_of,
    input_of,
    read_draft,
    read_draft_article,
)
from mailer.web.admin.forms import Form, field
from mailer.web.admin.pages import AdminPages, PagesDep
from mailer.web.admin.preview import framed_email
from mailer.web.context import WebContext, WebDep

__all__ = ["router"]

router = APIRouter()

PATH = "/campaigns/new"
EDIT_PATH = "/campaigns/{campaign_id:int}/edit"


def _page(
    request: Request,
    ctx: WebContext,
    pages: AdminPages,
    admin: Admin,
    draft: Draft,
    status_code: int = 200,
    *,
    campaign_id: int | None = None,
    **shown: Any,
) -> Response:
    saved_from, title = "", "New campaign"
    with ctx.database.session() as session:
        lists = list_counts(session)
        if campaign_id is not None:
            campaign = get_campaign(session, campaign_id)
            actions.require_draft(campaign)
            saved_from, title = campaign.source, f"Edit: {campaign.subject}"
    context: dict[str, Any] = {"problem": "", "tried": None, "who": "", "audience": None}
    context.update(shown)
    return pages.page(
        request,
        admin,
        "compose.html",
        status_code,
        title=title,
        action="/admin" + (PATH if campaign_id is None else f"/campaigns/{campaign_id}/edit"),
        campaign_id=campaign_id,
        saved_from=saved_from,
        draft=draft,
        lists=lists,
        ctas=sorted(ctx.settings.cta),
        default_cta=ctx.settings.default_cta,
        sources=SOURCES if campaign_id is None else EDIT_SOURCES,
        formats=FORMATS,
        **context,
    )


def _public_only(ctx: WebContext) -> bool:
    return not ctx.settings.fetch_private_addresses


def _list_ids(session: Session, names: Sequence[str]) -> list[int]:
    return [get_list(session, name).id for name in names]


def _try_subject(ctx: WebContext, draft: Draft) -> tuple[SubjectTry, str]:
    """The subject as a reader of the first list gets it, and who that reader is."""
    if not draft.subject:
        return SubjectTry(text="(the article's title)"), "every reader"
    try:
        check_subject(draft.subject)
    except InputError as err:
        return SubjectTry(problem=str(err)), ""
    with ctx.database.session() as session:
        person = sample_member(session, _list_ids(session, draft.lists[:1]))
        if person is None:
            sample = preview_context(ctx.settings)["subscriber"]
            return try_subject(draft.subject, sample), "a reader with no name on record"
        return try_subject(draft.subject, person), f"{person.email} ({draft.lists[0]})"


def _audience(ctx: WebContext, names: Sequence[str], segment: str) -> Audience:
    with ctx.database.session() as session:
        return count_recipients(session, _list_ids(session, names), segment)


def _source(draft: Draft) -> str:
    """Where the campaign's article came from, for the campaign's record."""
    if draft.source == "url":
        return draft.url
    if draft.source == "upload":
        return f"admin: upload of {draft.filename}"
    return "admin: pasted text" if draft.source == "paste" else "admin: Markdown editor"


def _create(ctx: WebContext, admin: Admin, draft: Draft) -> int:
    article = read_draft_article(draft, public_only=_public_only(ctx))
    if article is None:
        raise InputError("choose where the article comes from")
    now = ctx.now()
    with ctx.database.session() as session:
        campaign = actions.create(
            session,
            ctx.settings,
            article=article,
            lists=draft.lists,
            subject=draft.subject or None,
            segment=draft.segment or None,
            ctas=draft.chosen_ctas,
            source=_source(draft),
            article_input=input_of(draft),
            now=now,
        )
        audit(
            session,
            admin.email,
            "campaign.create",
            f"campaign {campaign.id}",
            now=now,
            subject=campaign.subject,
            lists=", ".join(draft.lists),
            source=campaign.source,
        )
        return campaign.id


def _edit(ctx: WebContext, admin: Admin, draft: Draft, campaign_id: int) -> None:
    with ctx.database.session() as session:
        # A draft only, before a web address is read for nothing.
        actions.require_draft(get_campaign(session, campaign_id))
    article = read_draft_article(draft, public_only=_public_only(ctx))
    with ctx.database.session() as session:
        campaign = actions.edit(
            session,
            ctx.settings,
            campaign_id,
            article=article,
            article_input=None if article is None else input_of(draft),
            source=None if article is None else _source(draft),
            subject=draft.subject,
            lists=draft.lists,
            segment=draft.segment,
            ctas=draft.ctas,
        )
        audit(
            session,
            admin.email,
            "campaign.edit",
            f"campaign {campaign_id}",
            now=ctx.now(),
            subject=campaign.subject,
            lists=", ".join(draft.lists),
            source=campaign.source,
        )


def _save(
    ctx: WebContext,
    pages: AdminPages,
    admin: Admin,
    draft: Draft,
    then: str,
    campaign_id: int | None,
) -> Response:
    if not draft.lists:
        raise InputError("choose at least one list")
    if campaign_id is None:
        campaign_id, saved = _create(ctx, admin, draft), "is saved as a draft"
    else:
        _edit(ctx, admin, draft, campaign_id)
        saved = "is changed and rendered again"
    where = f"/admin/campaigns/{campaign_id}" + ("/preview" if then == "preview" else "")
    return pages.redirect(where, f"Campaign {campaign_id} {saved}.")


def _answer(
    request: Request,
    ctx: WebContext,
    pages: AdminPages,
    admin: Admin,
    draft: Draft,
    do: str,
    campaign_id: int | None = None,
) -> Response:
    """What a button of the form does; a problem comes back in the form, values kept."""
    kept = draft.kept()
    try:
        if do in ("save", "preview"):
            return _save(ctx, pages, admin, draft, do, campaign_id)
        if do == "check":
            tried, who = _try_subject(ctx, draft)
            status = 422 if tried.problem else 200
            return _page(
                request, ctx, pages, admin, kept, status,
                campaign_id=campaign_id, tried=tried, who=who,
            )  # fmt: skip
        if do == "count":
            audience = _audience(ctx, draft.lists, draft.segment)
            return _page(
                request, ctx, pages, admin, kept, campaign_id=campaign_id, audience=audience
            )
    except MailerError as err:
        return _page(
            request, ctx, pages, admin, kept, 422, campaign_id=campaign_id, problem=str(err)
        )
    return _page(request, ctx, pages, admin, kept, campaign_id=campaign_id)


@router.get(PATH)
def compose_page(request: Request, ctx: WebDep, pages: PagesDep, admin: Editor) -> Response:
    return _page(request, ctx, pages, admin, Draft())


@router.post(PATH)
async def compose(
    request: Request, ctx: WebDep, pages: PagesDep, admin: Editor, form: Form
) -> Response:
    try:
        draft = await read_draft(form)
    finally:
        await form.close()  # an uploaded file's temporary file
    # Reading a web address and rendering take a while: not on the event loop.
    return await run_in_threadpool(_answer, request, ctx, pages, admin, draft, field(form, "do"))


@router.get(EDIT_PATH)
def edit_page(
    request: Request, ctx: WebDep, pages: PagesDep, admin: Editor, campaign_id: int
) -> Response:
    """The composer's form filled from a draft (a 409 page for any other campaign)."""
    with ctx.database.session() as session:
        draft = draft_of(get_campaign(session, campaign_id))
    return _page(request, ctx, pages, admin, draft, campaign_id=campaign_id)


@router.post(EDIT_PATH)
async def edit(
    request: Request, ctx: WebDep, pages: PagesDep, admin: Editor, form: Form, campaign_id: int
) -> Response:
    try:
        draft = await read_draft(form)
    finally:
        await form.close()
    return await run_in_threadpool(
        _answer, request, ctx, pages, admin, draft, field(form, "do"), campaign_id
    )


def _draft_email(ctx: WebContext, draft: Draft, campaign_id: int | None = None) -> str:
    """The draft rendered as its campaign will be, filled for the sample reader."""
    article: Article | list[Article] | None = read_draft_article(
        draft, public_only=_public_only(ctx)
    )
    with ctx.database.session() as session:
        if article is None:
            if campaign_id is None:
                raise InputError("choose where the article comes from")
            article = stored_articles(get_campaign(session, campaign_id))
        lists = [get_list(session, name) for name in draft.lists]
        titles = " and ".join(m.title for m in lists)
        default_cta = lists[0].default_cta if lists else None
    rendered = render_email(
        article,
        ctx.settings,
        subject=draft.subject or None,
        ctas=draft.chosen_ctas,
        list_name=titles or None,
        list_default_cta=default_cta,
    )
    _, html, _ = rendered.fill(preview_context(ctx.settings))
    return html


@router.post(PATH + "/email")
async def draft_email(ctx: WebDep, admin: Editor, form: Form, dark: bool = False) -> Response:
    """The draft's email for the composer's frame (the form posts into it): not stored,
    rendered by the same code as the campaign's."""
    return await _framed(ctx, form, dark, None)


@router.post(EDIT_PATH + "/email")
async def edited_email(
    ctx: WebDep, admin: Editor, form: Form, campaign_id: int, dark: bool = False
) -> Response:
    """The edit's email for its frame: the saved article, or the one the form gives."""
    return await _framed(ctx, form, dark, campaign_id)


async def _framed(ctx: WebContext, form: FormData, dark: bool, campaign_id: int | None) -> Response:
    try:
        draft = await read_draft(form)
    finally:
        await form.close()
    try:
        html = await run_in_threadpool(_draft_email, ctx, draft, campaign_id)
    except MailerError as err:
        html, status = f"<p>{escape(str(err))}</p>", 422
    else:
        html, status = dark_mode(html) if dark else html, 200
    return framed_email(html, status)


@router.get(PATH + "/count")
def count(
    ctx: WebDep,
    admin: Editor,
    lists: Annotated[list[str] | None, Query(alias="list", max_length=50)] = None,
    segment: Annotated[str, Query(max_length=10_000)] = "",
) -> Response:
    """The recipients of these lists and segment, as JSON (the composer's live count)."""
    try:
        audience = _audience(ctx, lists or [], segment)
    except MailerError as err:
        return JSONResponse({"problem": str(err)}, status_code=422)
    return JSONResponse(audience.as_dict())
