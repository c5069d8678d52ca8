"""What the delivery backends send: one shared content per batch and its recipients.

The content carries tokens (see :mod:`mailer.rendering.substitution`) that each
recipient's ``substitutions`` fill; SendGrid fills them on its side, so the HTML travels
once per request, while SMTP and the outbox fill them here for every message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from mailer.addresses import parse_mailbox

__all__ = ["Batch", "Content", "Outcome", "Recipient", "RecipientResult"]

_NOTHING: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Content:
    """What every recipient of a batch gets, tokens included.

    ``from_address`` may also be ``The Weekly <news@example.org>``: it is then split,
    and its name is the sender's name unless ``from_name`` gives one, so that every
    backend sees a plain address (the SMTP envelope, the Message-ID domain)."""

    subject: str
    html: str
    text: str
    from_address: str
    from_name: str = ""
    reply_to: str = ""
    # Headers the same for every recipient (List-Id, Precedence, ...).
    headers: dict[str, str] = field(default_factory=dict)
    # The campaign's own id (a SendGrid category; a header for SMTP).
    campaign: str = ""
    is_test: bool = False

    def __post_init__(self) -> None:
        if "<" in self.from_address:
            name, address = parse_mailbox(self.from_address)
            # Frozen: the split happens once, as the value is made.
            object.__setattr__(self, "from_address", address)
            if not self.from_name:
                object.__setattr__(self, "from_name", name)


class Recipient(NamedTuple):
    """One message of a batch: our own delivery id travels with it (SendGrid's
    ``custom_args``, an ``X-Mailer-Delivery`` header) so that events map back to it.
    A tuple: a campaign makes one for every recipient."""

    delivery_id: str
    email: str
    name: str = ""
    substitutions: Mapping[str, str] = _NOTHING
    # Headers that differ per recipient (List-Unsubscribe, Message-ID, ...).
    headers: Mapping[str, str] = _NOTHING


@dataclass(frozen=True)
class Batch:
    content: Content
    recipients: list[Recipient]
    #: Asked with a recipient's delivery id just before its message is handed over:
    #: the reason it must not go any more (they unsubscribed during the batch), or None.
    #: A backend that hands messages over one by one asks; None asks nothing.
    withdrawn: Callable[[str], str | None] | None = None


class Outcome(StrEnum):
    SENT = "sent"  # accepted by the server or provider
    FAILED = "failed"  # refused for good (5xx, invalid); a bounce when ``bounce`` is set
    RETRY = "retry"  # refused for now (4xx, throttled); try again later
    SKIPPED = "skipped"  # not handed over: withdrawn during the batch (see Batch.withdrawn)
    # Handed over whole, but the answer was lost (the connection dropped after the end of
    # the data): the server may have it, so it is not tried again unless someone says so.
    UNKNOWN = "unknown"


class RecipientResult(NamedTuple):
    """What became of one recipient of a batch (a tuple: a campaign makes one for every
    recipient)."""

    delivery_id: str
    outcome: Outcome
    provider_message_id: str = ""
    error: str = ""
    bounce: bool = False
