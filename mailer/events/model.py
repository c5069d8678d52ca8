"""The neutral provider event: what any provider tells us about one message, in our terms.

A provider's module turns its own event names into our :class:`EventKind` with a plain
mapping that ends in UNKNOWN (django-anymail's way): a name we do not know is kept, and
counted nowhere. A drop (the provider did not send, because it holds the address on a
list of its own) carries what that list means here, so that acting on events needs no
provider's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailer.storage.events import EventKind
from mailer.storage.models import SuppressionReason

__all__ = ["ProviderEvent", "TurnedOff", "dropped_as", "kind_of"]


@dataclass(frozen=True)
class ProviderEvent:
    """One provider event in our terms."""

    kind: EventKind
    hard: bool  # a bounce for good
    occurred_at: datetime
    email: str  # the recipient, as the provider gave it ("" if it did not)
    delivery_ref: str  # our delivery id: "<campaign uid>.<ledger row id>"
    provider_event_id: str | None
    reason: str
    url: str
    raw: dict[str, Any]
    # For a drop: what the provider's own list holds the address as, if it means one of
    # our suppressions; None for any other event and for a drop for another reason.
    dropped_as: SuppressionReason | None = None


@dataclass(frozen=True)
class TurnedOff:
    """A provider we know whose webhook the settings leave off, and what turns it on."""

    name: str
    hint: str


def kind_of(kinds: Mapping[str, EventKind], name: str) -> EventKind:
    """Our kind of a provider's event ``name``: UNKNOWN for a name ``kinds`` lacks."""
    return kinds.get(name, EventKind.UNKNOWN)


def dropped_as(reasons: Mapping[str, SuppressionReason], reason: str) -> SuppressionReason | None:
    """Our suppression for a provider's drop ``reason`` (its words, in any case), if any."""
    return reasons.get(reason.strip().lower())
