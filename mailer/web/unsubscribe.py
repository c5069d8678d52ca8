"""``/unsubscribe/{token}``: leaving a list with one click (RFC 8058).

A GET only shows what will happen and a button: mail scanners open every link, and
must not unsubscribe anyone. A POST unsubscribes, answers 200 without redirecting, and
does the same when repeated. It needs no cookie and no session: a mail client posts
``List-Unsubscribe=One-Click`` (form-encoded or multipart) and nothing else, and our own
button posts a MAC of the link's token instead (see :mod:`mailer.web.csrf`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from mailer.campaigns.links import preferences_url
from mailer.storage.models import MailingList, Subscriber, SubscriptionStatus
from mailer.tokens import BadToken, TokenData, row_id, verify
from mailer.web.context import WebContext, WebDep
from mailer.web.csrf import bound_token, check_bound, same_origin
from mailer.web.leaving import Leaving

__all__ = ["mask", "router"]

router = APIRouter(include_in_schema=False)

ONE_CLICK = "One-Click"


def mask(email: str) -> str:
    """``jane.doe@example.org`` → ``j•••@example.org``: enough for its owner to know
    it, little for anyone the mail was forwarded to."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


def _bad_link(ctx: WebContext, err: BadToken) -> Response:
    return ctx.pages.message(
        "This link doesn't work",
        f"{str(err).capitalize()}.",
        "Please use the unsubscribe link at the bottom of one of our emails: it never expires.",
        status_code=400,
    )


@router.get("/unsubscribe")
def unsubscribe_help(ctx: WebDep) -> Response:
    """Where the archive's unsubscribe links lead: they belong to nobody."""
    return ctx.pages.message(
        "Unsubscribe",
        "To leave a list, use the unsubscribe link at the bottom of any email we've sent "
        "you. It's yours alone, and takes you off the list with one click.",
    )


@router.get("/unsubscribe/{token}")
def unsubscribe_page(token: str, ctx: WebDep) -> Response:
    """What unsubscribing will do, and the button (a GET never unsubscribes)."""
    try:
        data = verify(ctx.secret, token, "unsubscribe")
    except BadToken as err:
        return _bad_link(ctx, err)
    with ctx.database.session() as session:
        subscriber = session.get(Subscriber, data.subscriber_id)
        mailing_list = session.get(MailingList, data.list_id)
        if subscriber is None or mailing_list is None:
            return _gone(ctx)
        masked, title = mask(subscriber.email), mailing_list.title
        status = next(
            (s.status for s in subscriber.subscriptions if s.list_id == mailing_list.id), None
        )
    if status is None:
        return _gone(ctx)
    if status is SubscriptionStatus.UNSUBSCRIBED:
        return _already(ctx, data, masked, title)
    return ctx.pages.page(
        "unsubscribe.html",
        title=f"Unsubscribe from {title}?",
        masked=masked,
        list_title=title,
        action=f"/unsubscribe/{token}",
        csrf=bound_token(ctx.secret, "unsubscribe", token),
        preferences_url=preferences_url(ctx.settings, data.subscriber_id, data.list_id),
    )


@router.post("/unsubscribe/{token}")
async def unsubscribe_now(token: str, request: Request, ctx: WebDep) -> Response:
    """Unsubscribe (RFC 8058 one-click: ``List-Unsubscribe=One-Click``, or our own
    button: ``csrf``). A coroutine: it only waits for its group's commit, and a thread
    each would cost more than its share of it."""
    try:
        data = verify(ctx.secret, token, "unsubscribe")
    except BadToken as err:
        return _bad_link(ctx, err)
    # The form read here rather than by FastAPI's Form parameters: a tenth of the
    # request's time in a wave of them. No file is taken, and a file is no answer.
    async with request.form(max_files=0, max_fields=10) as form:
        one_click, csrf = form.get("List-Unsubscribe", ""), form.get("csrf", "")
    if not isinstance(csrf, str):
        csrf = ""
    # A mail client posts the one-click body; our own button instead posts the MAC of
    # this link's token, from our own page.
    button_ok = check_bound(ctx.secret, "unsubscribe", token, csrf) and same_origin(
        request, ctx.settings.base_url
    )
    if one_click != ONE_CLICK and not button_ok:
        return ctx.pages.message(
            "Please use the button",
            "This request didn't come from our unsubscribe page. Open the link in your "
            "email again and press the button there.",
            status_code=400,
        )
    title = await _leave(ctx, data)
    if title is None:
        return _gone(ctx)
    return ctx.pages.message(
        "You're unsubscribed",
        f"You won't get {title} any more. An issue that was already on its way may "
        "still arrive within a day.",
        links=[_rejoin(ctx, data)],
    )


def _already(ctx: WebContext, data: TokenData, masked: str, title: str) -> Response:
    return ctx.pages.message(
        "You're already unsubscribed",
        f"{masked} doesn't get {title} any more: there is nothing left to do.",
        links=[_rejoin(ctx, data)],
    )


def _rejoin(ctx: WebContext, data: TokenData) -> tuple[str, str]:
    return (
        "Unsubscribed by mistake? Rejoin on your settings page",
        preferences_url(ctx.settings, data.subscriber_id, data.list_id),
    )


async def _leave(ctx: WebContext, data: TokenData) -> str | None:
    """Unsubscribe the token's subscriber from its list; the list's title, or None if
    there is nothing to leave any more (the subscriber was forgotten, the list deleted).
    Committed before it returns, in one commit with the unsubscribes that came with it."""
    leaving = Leaving(data.subscriber_id, data.list_id, row_id(data.extra), ctx.now())
    return await ctx.durable.arun(leaving)


def _gone(ctx: WebContext) -> Response:
    return ctx.pages.message(
        "Nothing to unsubscribe",
        "This address isn't on this list any more, so we send it nothing from it.",
    )
