"""``/preferences/{token}``: a subscriber's own page. The lists the address is on, to
leave or rejoin each; the name; everything stored, as JSON; and forgetting.

The link came by email, so whoever holds it has shown they own the mailbox: rejoining
a list they left here needs no further confirmation. Every form carries the MAC of
the link's token (see :mod:`mailer.web.csrf`); nothing needs a cookie.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from mailer.exceptions import MailerError
from mailer.storage.counters import record_events
from mailer.storage.events import EventKind
from mailer.storage.models import Subscriber, Subscription, SubscriptionStatus
from mailer.subscribers.fields import MAX_NAME
from mailer.subscribers.privacy import export_data, forget
from mailer.subscribers.subscriptions import add_subscriber, unsubscribe
from mailer.subscribers.suppression import suppression_of
from mailer.tokens import BadToken, TokenData, verify
from mailer.web.context import WebContext, WebDep
from mailer.web.csrf import bound_token, check_bound, same_origin
from mailer.web.recording import own_event

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]

_STATUS_TEXT = {
    SubscriptionStatus.CONFIRMED: "subscribed",
    SubscriptionStatus.UNCONFIRMED: "waiting for your confirmation",
    SubscriptionStatus.UNSUBSCRIBED: "unsubscribed",
}
_JOIN_TEXT = {SubscriptionStatus.UNCONFIRMED: "Confirm", SubscriptionStatus.UNSUBSCRIBED: "Rejoin"}


@router.get("/preferences")
def preferences_help(ctx: WebDep) -> Response:
    """Where the archive's settings links lead: they belong to nobody."""
    return ctx.pages.message(
        "Your settings",
        "To reach your settings, use the link at the bottom of any email we've sent you.",
    )


@router.get("/preferences/{token}")
def preferences_page(token: str, ctx: WebDep) -> Response:
    """The subscriber's lists, name and data."""
    data = _verify(ctx, token)
    if isinstance(data, Response):
        return data
    with ctx.database.session() as session:
        subscriber = session.get(Subscriber, data.subscriber_id)
        if subscriber is None:
            return _gone(ctx)
        return _page(ctx, session, subscriber, token)


@router.post("/preferences/{token}")
def preferences_change(
    token: str,
    request: Request,
    ctx: WebDep,
    action: FormText = "",
    list_id: Annotated[str, Form(alias="list")] = "",
    name: FormText = "",
    csrf: FormText = "",
) -> Response:
    """One change: leave, join, name, download, forget (asks first), forget-confirmed."""
    data = _verify(ctx, token)
    if isinstance(data, Response):
        return data
    if not check_bound(ctx.secret, "preferences", token, csrf) or not same_origin(
        request, ctx.settings.base_url
    ):
        return ctx.pages.message(
            "Please use your settings page",
            "This request didn't come from your settings page. Open the link in your "
            "email again and make the change there.",
            status_code=400,
        )
    now = ctx.now()
    with ctx.database.session() as session:
        subscriber = session.get(Subscriber, data.subscriber_id)
        if subscriber is None:
            return _gone(ctx)
        if action in ("leave", "join"):
            subscription = next(
                (s for s in subscriber.subscriptions if str(s.list_id) == list_id), None
            )
            if subscription is None:
                return _page(ctx, session, subscriber, token, 404, problem="No such list.")
            return _membership(ctx, session, subscriber, subscription, action, token)
        if action == "name":
            clean = _clean_name(name)
            if clean is None:
                return _page(
                    ctx, session, subscriber, token, 422,
                    problem=f"A name can have at most {MAX_NAME} characters, on one line.",
                )  # fmt: skip
            subscriber.name = clean
            return _page(ctx, session, subscriber, token, notice="Your name is saved.")
        return _about_data(ctx, session, subscriber, action, token, now)


def _about_data(
    ctx: WebContext,
    session: Session,
    subscriber: Subscriber,
    action: str,
    token: str,
    now: datetime,
) -> Response:
    """The actions on everything stored: download it, forget it (asks first), or an
    action nobody knows."""
    if action == "download":
        content = export_data(session, subscriber.email)
        return JSONResponse(
            content,
            headers={"content-disposition": 'attachment; filename="my-data.json"'},
        )
    if action == "forget":
        return ctx.pages.page(
            "forget.html",
            title="Forget everything about you?",
            email=subscriber.email,
            action=f"/preferences/{token}",
            csrf=bound_token(ctx.secret, "preferences", token),
        )
    if action == "forget-confirmed":
        forget(session, subscriber.email, source="web", now=now)
        return ctx.pages.message(
            "We've forgotten you",
            "We've erased your name, your subscriptions and everything else we held "
            "about you. All we keep is a one-way hash of your address, which can't be "
            "turned back into it, so that no list can add it again.",
        )
    return _page(ctx, session, subscriber, token, 400, problem="Unknown action.")


def _verify(ctx: WebContext, token: str) -> TokenData | Response:
    try:
        return verify(ctx.secret, token, "preferences")
    except BadToken as err:
        return ctx.pages.message(
            "This link doesn't work",
            f"{str(err).capitalize()}.",
            "Please use the settings link at the bottom of one of our emails.",
            status_code=400,
        )


def _gone(ctx: WebContext) -> Response:
    return ctx.pages.message(
        "Nothing stored",
        "We don't hold any data about this address any more.",
        status_code=404,
    )


def _clean_name(name: str) -> str | None:
    clean = " ".join(name.split())
    if len(clean) > MAX_NAME or any(unicodedata.category(ch) == "Cc" for ch in clean):
        return None
    return clean


def _membership(
    ctx: WebContext,
    session: Session,
    subscriber: Subscriber,
    subscription: Subscription,
    action: str,
    token: str,
) -> Response:
    now = ctx.now()
    list_name, title = subscription.list.name, subscription.list.title
    if action == "leave":
        if unsubscribe(session, subscriber.email, list_name, source="web", now=now):
            event = own_event(
                EventKind.UNSUBSCRIBED,
                occurred_at=now,
                subscriber_id=subscriber.id,
                list_id=subscription.list_id,
            )
            record_events(session, [event])
        notice = f"You've left {title}."
    else:
        try:
            # The person asks for it, from a link that reached their mailbox.
            add_subscriber(
                session, subscriber.email, list_name, confirmed=True, resubscribe=True,
                source="web", now=now,
            )  # fmt: skip
        except MailerError as err:
            return _page(ctx, session, subscriber, token, 409, problem=str(err))
        notice = f"You're subscribed to {title}."
    session.flush()
    return _page(ctx, session, subscriber, token, notice=notice)


def _page(
    ctx: WebContext,
    session: Session,
    subscriber: Subscriber,
    token: str,
    status_code: int = 200,
    *,
    notice: str = "",
    problem: str = "",
) -> Response:
    subscriptions: list[dict[str, Any]] = [
        {
            "id": s.list_id,
            "title": s.list.title,
            "status_text": _STATUS_TEXT[s.status]
            + (
                # No-break spaces: a date is not split over two lines.
                f" on {s.status_changed_at.day}\u00a0{s.status_changed_at:%B\u00a0%Y}"
                if s.status is SubscriptionStatus.UNSUBSCRIBED
                else ""
            ),
            "subscribed": s.status is SubscriptionStatus.CONFIRMED,
            "join_text": _JOIN_TEXT.get(s.status, "Join"),
        }
        for s in sorted(subscriber.subscriptions, key=lambda s: s.list.title.casefold())
    ]
    return ctx.pages.page(
        "preferences.html",
        status_code,
        title="Your settings",
        email=subscriber.email,
        name=subscriber.name,
        subscriptions=subscriptions,
        suppressed=suppression_of(session, subscriber.email_key) is not None,
        action=f"/preferences/{token}",
        csrf=bound_token(ctx.secret, "preferences", token),
        notice=notice,
        problem=problem,
    )
