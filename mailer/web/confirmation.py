"""The mail that asks a new subscriber of a double opt-in list to confirm.

Its link is a signed ``confirm`` token that expires after ``confirm_token_days``. An
address that must not simply be added back (it left the list, or is on the
suppression list) gets a token marked ``resubscribe``: confirming it is the owner's own
request to come back. Such an address without a stored subscriber (it was forgotten)
carries itself in the token, so that nothing is stored before the owner confirms.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailer.delivery.base import Backend
from mailer.delivery.message import Batch, Content, Outcome, Recipient
from mailer.exceptions import MailerError
from mailer.rendering import render_confirmation
from mailer.settings import Settings
from mailer.tokens import TokenData, sign

__all__ = ["RESUBSCRIBE", "ConfirmationRequest", "confirmation_batch", "send_confirmation"]

logger = logging.getLogger("mailer.web")

#: The token's ``extra`` of a confirmation that brings an address back.
RESUBSCRIBE = "resubscribe"


@dataclass(frozen=True)
class ConfirmationRequest:
    """Who is asked to confirm which list; ``subscriber_id`` is 0 when nothing is
    stored about the address."""

    email: str
    name: str
    list_id: int
    list_title: str
    subscriber_id: int
    resubscribe: bool = False

    def token_data(self, settings: Settings, now: datetime) -> TokenData:
        expires = now + timedelta(days=settings.confirm_token_days)
        extra = ""
        if self.resubscribe:
            extra = RESUBSCRIBE if self.subscriber_id else f"{RESUBSCRIBE}:{self.email}"
        return TokenData(
            "confirm",
            self.subscriber_id,
            self.list_id,
            expires=int(expires.timestamp()),
            extra=extra,
        )

    def url(self, settings: Settings, now: datetime) -> str:
        token = sign(settings.secret_key.get_secret_value(), self.token_data(settings, now))
        return f"{settings.base_url}/confirm/{token}"


def confirmation_batch(settings: Settings, request: ConfirmationRequest, now: datetime) -> Batch:
    """The confirmation mail as a batch of one, ready for any backend."""
    rendered = render_confirmation(settings, request.list_title)
    context = {
        "subscriber": {"email": request.email, "name": request.name, "attributes": {}, "tags": []},
        "confirm_url": request.url(settings, now),
    }
    sender = settings.sender
    content = Content(
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        from_address=sender.address,
        from_name=sender.name,
        reply_to=settings.reply_to,
        campaign="confirmation",
    )
    # Dot-atom characters only: the id becomes a Message-ID and a file name. Webhook
    # events of it start with "confirm." and belong to no campaign.
    delivery_id = f"confirm.{request.list_id}.{request.subscriber_id}.{int(now.timestamp() * 1000)}"
    recipient = Recipient(
        delivery_id=delivery_id,
        email=request.email,
        name=request.name,
        substitutions=rendered.substitutions(context),
    )
    return Batch(content, [recipient])


def send_confirmation(
    settings: Settings,
    backend: Callable[[Settings], Backend],
    request: ConfirmationRequest,
    now: datetime,
) -> bool:
    """Send the confirmation mail; a failure is logged (without the address), since the
    page has already answered the same whatever happens here."""
    try:
        results = backend(settings).send_batch(confirmation_batch(settings, request, now))
    except MailerError as err:
        logger.error(
            "confirmation mail for list %d not sent: %s", request.list_id, type(err).__name__
        )
        return False
    refused = [r for r in results if r.outcome is not Outcome.SENT]
    if refused:
        logger.warning(
            "confirmation mail for list %d refused (%s)", request.list_id, refused[0].outcome
        )
    return not refused
