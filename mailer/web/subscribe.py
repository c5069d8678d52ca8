"""``/subscribe/{list}`` and ``/confirm/{token}``: joining a list through the web.

The form answers the same whatever the address's state (new, waiting, subscribed,
unsubscribed, suppressed), so that nobody learns from it who is on a list. Against list
bombing it has a honeypot field, a form token that expires, and rate limits per client
address and per email address. The confirmation mail goes out after the answer, so that
not even the time taken tells one case from another.

An address that left the list, or is on the suppression list, is never added back by
the form alone: it gets a confirmation mail, whatever the list's opt-in setting, and is
subscribed again only when its owner confirms.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from mailer.addresses import Address, address_hash, normalize_address
from mailer.campaigns.links import preferences_url
from mailer.exceptions import InvalidAddress, StateError
from mailer.storage.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from mailer.subscribers.fields import MAX_NAME
from mailer.subscribers.subscriptions import add_subscriber
from mailer.subscribers.suppression import suppression_of
from mailer.tokens import BadToken, ExpiredToken, TokenData, verify
from mailer.web.confirmation import RESUBSCRIBE, ConfirmationRequest, send_confirmation
from mailer.web.context import WebContext, WebDep
from mailer.web.csrf import check_timed, same_origin, timed_token

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: How long a subscribe form may be left open before it is sent.
FORM_MAX_AGE = 24 * 3600
MAX_EMAIL = 320

FormText = Annotated[str, Form()]


def _find_list(session: Session, name: str) -> MailingList | None:
    return session.scalar(select(MailingList).where(MailingList.name == name))


def _form(
    ctx: WebContext,
    mailing_list: MailingList,
    *,
    status_code: int = 200,
    problem: str = "",
    email: str = "",
    name: str = "",
) -> Response:
    return ctx.pages.page(
        "subscribe.html",
        status_code,
        title=f"Subscribe to {mailing_list.title}",
        list=mailing_list,
        action=f"/subscribe/{quote(mailing_list.name, safe='')}",
        csrf=timed_token(ctx.secret, f"subscribe|{mailing_list.id}", ctx.now().timestamp()),
        problem=problem,
        email=email,
        name=name,
    )


def _done(ctx: WebContext, mailing_list: MailingList, email: str) -> Response:
    """The one answer to every accepted form, whatever the address's state: it reads
    true whether the address was new, waiting, subscribed, or had left."""
    title = mailing_list.title
    if mailing_list.double_opt_in:
        return ctx.pages.message(
            "Check your inbox",
            f"Thanks! If {email} isn't on {title} yet, we've sent it an email with a link "
            "to confirm your subscription.",
            f"The link works for {ctx.settings.confirm_token_days} days. Nothing there? "
            "Have a look in your spam folder.",
        )
    return ctx.pages.message(
        "Thanks for subscribing",
        f"The next issue of {title} goes to {email}.",
        "Unsubscribed from us before? Then we've emailed that address a link to confirm "
        "that you want to come back, and the issues start once you open it.",
    )


def _nothing(ctx: WebContext, name: str) -> Response:
    return ctx.pages.message(
        "No such list",
        f"We have no list called “{name}”. Please check the address of this page.",
        status_code=404,
    )


@router.get("/subscribe/{list_name}")
def subscribe_form(list_name: str, ctx: WebDep) -> Response:
    """The subscribe form of a list."""
    with ctx.database.session() as session:
        mailing_list = _find_list(session, list_name)
    if mailing_list is None:
        return _nothing(ctx, list_name)
    return _form(ctx, mailing_list)


@router.post("/subscribe/{list_name}")
def subscribe(
    list_name: str,
    request: Request,
    ctx: WebDep,
    background: BackgroundTasks,
    email: FormText = "",
    name: FormText = "",
    website: FormText = "",
    csrf: FormText = "",
) -> Response:
    """Subscribe an address (see the module's docstring for the rules)."""
    with ctx.database.session() as session:
        mailing_list = _find_list(session, list_name)
    if mailing_list is None:
        return _nothing(ctx, list_name)
    now = ctx.now()
    guarded = _guard(ctx, request, mailing_list, now, email, name, website, csrf)
    if guarded is not None:
        return guarded
    client = f"ip|{request.client.host if request.client else 'unknown'}"
    fields = _fields(email, name)
    if isinstance(fields, str):
        # A form that is no subscription still counts against its client.
        if not ctx.ip_limit.hit(client):
            return _too_many(ctx)
        return _form(
            ctx,
            mailing_list,
            status_code=422,
            problem=fields,
            email=email[:MAX_EMAIL],
            name=name[:MAX_NAME],
        )
    address, clean_name = fields
    # The two hits and the subscription commit together: one commit (on SQLite one
    # turn and one fsync) instead of three. A client let in and an address refused
    # still counts the client's hit, as it would alone.
    with ctx.database.writing() as session:
        if not ctx.ip_limit.hit(client, session) or not ctx.address_limit.hit(
            f"address|{address_hash(address.key)}", session
        ):
            return _too_many(ctx)
        request_mail = _subscribe(session, ctx, mailing_list, address, clean_name)
    if request_mail is not None:
        background.add_task(send_confirmation, ctx.settings, ctx.backend, request_mail, now)
    return _done(ctx, mailing_list, address.email)


def _guard(
    ctx: WebContext,
    request: Request,
    mailing_list: MailingList,
    now: datetime,
    email: str,
    name: str,
    website: str,
    csrf: str,
) -> Response | None:
    """The answer to a form that is not let in (from another site, expired, a robot's),
    or None. The rate limits are the caller's: they are counted with what they guard."""
    if not same_origin(request, ctx.settings.base_url):
        return ctx.pages.message(
            "Not allowed", "This form can only be sent from our own page.", status_code=403
        )
    scope = f"subscribe|{mailing_list.id}"
    if not check_timed(ctx.secret, scope, csrf, now.timestamp(), FORM_MAX_AGE):
        return _form(
            ctx,
            mailing_list,
            status_code=400,
            problem="This form was open too long and has expired. Please send it again.",
            email=email[:MAX_EMAIL],
            name=name[:MAX_NAME],
        )
    if website:
        # Only a robot fills the field people cannot see; it is told nothing.
        return _done(ctx, mailing_list, email[:MAX_EMAIL])
    return None


def _fields(email: str, name: str) -> tuple[Address, str] | str:
    """The address and the name (its spaces tidied) that the form gives, or the
    problem to show with it."""
    try:
        if len(email) > MAX_EMAIL:
            raise InvalidAddress(
                email[:40] + "...", f"an address has at most {MAX_EMAIL} characters"
            )
        address = normalize_address(email)
    except InvalidAddress as err:
        return "Please enter a valid email address, like name@example.org. " + _sentence(err.reason)
    clean_name = " ".join(name.split())
    if len(clean_name) > MAX_NAME:
        return f"A name has at most {MAX_NAME} characters."
    return address, clean_name


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _too_many(ctx: WebContext) -> Response:
    return ctx.pages.message(
        "Too many attempts",
        "We've had too many sign-ups from here, or for this address. Please try again in an hour.",
        status_code=429,
    )


def _subscribe(
    session: Session, ctx: WebContext, mailing_list: MailingList, address: Address, name: str
) -> ConfirmationRequest | None:
    """Do what the form asks; returns the confirmation mail that is due, if any."""
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email_key == address.key))
    subscription = None
    if subscriber is not None:
        subscription = session.scalar(
            select(Subscription).where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.list_id == mailing_list.id,
            )
        )
    suppressed = suppression_of(session, address.key) is not None
    left = subscription is not None and subscription.status is SubscriptionStatus.UNSUBSCRIBED
    if suppressed or left:
        return ConfirmationRequest(
            email=subscriber.email if subscriber else address.email,
            name=subscriber.name if subscriber else name,
            list_id=mailing_list.id,
            list_title=mailing_list.title,
            subscriber_id=subscriber.id if subscriber else 0,
            resubscribe=True,
        )
    if subscription is not None and subscription.status is SubscriptionStatus.CONFIRMED:
        return None
    subscription = add_subscriber(
        session,
        address.email,
        mailing_list.name,
        # A stored subscriber's name is theirs: the form does not change it.
        name=name if subscriber is None else None,
        source="web",
        now=ctx.now(),
    )
    if subscription.status is not SubscriptionStatus.UNCONFIRMED:
        return None
    return ConfirmationRequest(
        email=subscription.subscriber.email,
        name=subscription.subscriber.name,
        list_id=mailing_list.id,
        list_title=mailing_list.title,
        subscriber_id=subscription.subscriber.id,
    )


@router.get("/confirm/{token}")
def confirm(token: str, ctx: WebDep) -> Response:
    """Confirm a subscription; opening the link again changes nothing."""
    now = ctx.now()
    data = _confirmation(ctx, token, now)
    if isinstance(data, Response):
        return data
    with ctx.database.session() as session:
        mailing_list = session.get(MailingList, data.list_id)
        subscriber = session.get(Subscriber, data.subscriber_id) if data.subscriber_id else None
        if mailing_list is None:
            return ctx.pages.message(
                "This list has closed", "The list this link was for no longer exists.",
                status_code=404,
            )  # fmt: skip
        subscription = _confirmed(ctx, session, data, subscriber, mailing_list, now)
        if isinstance(subscription, Response):
            return subscription
        preferences = preferences_url(ctx.settings, subscription.subscriber_id, mailing_list.id)
        title = mailing_list.title
    return ctx.pages.message(
        "You're subscribed",
        f"Thanks for confirming. You'll get {title} from the next issue on.",
        links=[("Manage your lists and your data", preferences)],
    )


def _confirmation(ctx: WebContext, token: str, now: datetime) -> TokenData | Response:
    """What a confirmation link says, or the page that says why it does not work."""
    try:
        return verify(ctx.secret, token, "confirm", now=now)
    except ExpiredToken:
        return ctx.pages.message(
            "This link has expired",
            f"A confirmation link works for {ctx.settings.confirm_token_days} days. Fill in "
            "the subscribe form again, and we'll send you a new one.",
            status_code=400,
        )
    except BadToken as err:
        return ctx.pages.message(
            "This link doesn't work",
            f"{str(err).capitalize()}.",
            "Fill in the subscribe form again, and we'll send you a new link.",
            status_code=400,
        )


def _confirmed(
    ctx: WebContext,
    session: Session,
    data: TokenData,
    subscriber: Subscriber | None,
    mailing_list: MailingList,
    now: datetime,
) -> Subscription | Response:
    """Do what the link says (confirm a waiting member, or take back one who left);
    the subscription confirmed, or the page that says why there is none."""
    kind, _, carried = data.extra.partition(":")
    email = subscriber.email if subscriber is not None else carried
    subscription: Subscription | None = None
    try:
        if kind == RESUBSCRIBE and email:
            subscription = add_subscriber(
                session, email, mailing_list.name, confirmed=True, resubscribe=True,
                source="web", now=now,
            )  # fmt: skip
        elif subscriber is not None:
            subscription = _confirm_waiting(session, subscriber, mailing_list, now)
    except StateError:
        return ctx.pages.message(
            "This link is out of date",
            f"This address unsubscribed from {mailing_list.title}, or asked us not to "
            "write to it, after we sent the link. To subscribe again, fill in the form "
            "once more.",
            status_code=409,
            links=[_form_link(mailing_list)],
        )
    if subscription is None:
        return ctx.pages.message(
            "Nothing to confirm",
            "We no longer hold the subscription this link was for. To subscribe, "
            "fill in the form again.",
            status_code=404,
            links=[_form_link(mailing_list)],
        )
    return subscription


def _form_link(mailing_list: MailingList) -> tuple[str, str]:
    return (
        f"Subscribe to {mailing_list.title}",
        f"/subscribe/{quote(mailing_list.name, safe='')}",
    )


def _confirm_waiting(
    session: Session, subscriber: Subscriber, mailing_list: MailingList, now: datetime
) -> Subscription | None:
    subscription = session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber.id, Subscription.list_id == mailing_list.id
        )
    )
    if subscription is None:
        return None
    if subscription.status is SubscriptionStatus.UNSUBSCRIBED:
        raise StateError("left the list after the link was sent")
    if subscription.status is SubscriptionStatus.UNCONFIRMED:
        # add_subscriber confirms a waiting member, and refuses a suppressed one.
        add_subscriber(
            session, subscriber.email, mailing_list.name, confirmed=True, source="web", now=now
        )
    return subscription
