"""``/api/subscribers``: add, look up, unsubscribe and forget subscribers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path

from mailer.storage.models import SubscriptionStatus
from mailer.subscribers.privacy import forget
from mailer.subscribers.subscriptions import (
    add_subscriber,
    find_subscriber,
    subscriber_dict,
    unsubscribe,
)
from mailer.web.api import audit
from mailer.web.api.schemas import SubscriberIn, SubscriberOut, UnsubscribeIn, UnsubscribeOut
from mailer.web.confirmation import ConfirmationRequest, send_confirmation
from mailer.web.context import WebDep

__all__ = ["router"]

router = APIRouter(prefix="/subscribers", tags=["subscribers"])

EmailPath = Annotated[str, Path(min_length=3, max_length=320)]


@router.post("", status_code=201)
def add(body: SubscriberIn, ctx: WebDep, background: BackgroundTasks) -> SubscriberOut:
    """Add an address to a list, or update the stored subscriber. A new member of a
    double opt-in list who has not confirmed elsewhere (``confirmed``) is sent the
    confirmation mail, as the subscribe form does."""
    now = ctx.now()
    with ctx.database.session() as session:
        subscription = add_subscriber(
            session,
            body.email,
            body.list_name,
            name=body.name,
            attributes=body.attributes,
            tags=body.tags,
            timezone=body.timezone,
            confirmed=body.confirmed,
            resubscribe=body.resubscribe,
            source="api",
            now=now,
        )
        subscriber = find_subscriber(session, subscription.subscriber.email)
        audit.write(
            session,
            ctx,
            "subscriber.add",
            f"subscriber {subscriber.id}",
            list=body.list_name,
            status=subscription.status.value,
        )
        if subscription.status is SubscriptionStatus.UNCONFIRMED:
            request = ConfirmationRequest(
                email=subscriber.email,
                name=subscriber.name,
                list_id=subscription.list_id,
                list_title=subscription.list.title,
                subscriber_id=subscriber.id,
            )
            background.add_task(send_confirmation, ctx.settings, ctx.backend, request, now)
        return SubscriberOut.model_validate(subscriber_dict(subscriber))


@router.get("/{email}")
def show(email: EmailPath, ctx: WebDep) -> SubscriberOut:
    """One subscriber and every subscription."""
    with ctx.database.session() as session:
        return SubscriberOut.model_validate(subscriber_dict(find_subscriber(session, email)))


@router.post("/{email}/unsubscribe")
def leave(email: EmailPath, body: UnsubscribeIn, ctx: WebDep) -> UnsubscribeOut:
    """Unsubscribe from one list, or from every list (which also suppresses the address)."""
    with ctx.database.session() as session:
        subscriber_id = find_subscriber(session, email).id
        left = unsubscribe(session, email, body.list, source="api", now=ctx.now())
        audit.write(
            session,
            ctx,
            "subscriber.unsubscribe",
            f"subscriber {subscriber_id}",
            lists=left,
            every_list=body.list is None,
        )
    return UnsubscribeOut(left=left)


@router.post("/{email}/forget", status_code=204)
def erase(email: EmailPath, ctx: WebDep) -> None:
    """Erase the subscriber's personal data; only a hash of the address stays, on the
    suppression list."""
    with ctx.database.session() as session:
        subscriber_id = find_subscriber(session, email).id
        forget(session, email, source="api", now=ctx.now())
        # The entry names the id only: writing the address down would keep what was erased.
        audit.write(session, ctx, "subscriber.forget", f"subscriber {subscriber_id}")
