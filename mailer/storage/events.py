"""What happened to a message after it left: delivered, bounced, opened, clicked,
unsubscribed, reported as spam. One row per event, whether the provider's webhook told
us (SendGrid) or our own tracking and pages saw it (``provider = "mailer"``).

Every provider's events are normalised to one :class:`EventKind`. The raw event is kept
for inspection without the recipient's address, IP or user agent, so that forgetting a
subscriber (which sets ``subscriber_id`` to NULL) leaves only anonymous counts.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mailer.storage.models import Base, string_enum
from mailer.storage.types import utcnow

__all__ = ["Event", "EventKind"]


class EventKind(enum.StrEnum):
    PROCESSED = "processed"  # the provider accepted it for delivery
    DELIVERED = "delivered"  # the receiving server accepted it
    DEFERRED = "deferred"  # the receiving server said "later"; the provider retries
    BOUNCED = "bounced"  # refused: ``hard`` for good, else for now (a full mailbox)
    DROPPED = "dropped"  # the provider did not send it (on its own suppression list)
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    RESUBSCRIBED = "resubscribed"
    COMPLAINED = "complained"  # reported as spam
    UNKNOWN = "unknown"  # an event type we do not know (kept, counted nowhere)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_campaign_kind", "campaign_id", "kind"),
        Index("ix_events_subscriber_kind", "subscriber_id", "kind", "occurred_at"),
        # The clicks alone (a few per cent of the events), with all that the report's
        # per-link and call-to-action counts read: those count from it alone (0007).
        Index(
            "ix_events_clicks",
            "campaign_id",
            "kind",
            "link_index",
            "url",
            "delivery_id",
            sqlite_where=text("kind = 'clicked'"),
            postgresql_where=text("kind = 'clicked'"),
            # The id too (a unique count counts a message without a ledger row by it):
            # SQLite's indexes hold it anyway; PostgreSQL's scan of a million
            # messages' clicks then reads no table rows (0008).
            postgresql_include=["id"],
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    kind: Mapped[EventKind] = mapped_column(string_enum(EventKind))
    # For bounces: permanent (an unknown mailbox) rather than for now.
    hard: Mapped[bool] = mapped_column(default=False)
    # Events of mail outside campaigns (confirmation requests) have no campaign.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), default=None
    )
    # The ledger row, without a foreign key on purpose: forgetting a subscriber deletes
    # their ledger rows, and the bare number, which then points nowhere, still tells
    # unique opens and clicks from repeated ones.
    delivery_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), default=None
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), default=None
    )
    list_id: Mapped[int | None] = mapped_column(
        ForeignKey("lists.id", ondelete="SET NULL"), default=None
    )
    # Clicks: the link's number in the campaign (``Campaign.links``) and its URL.
    link_index: Mapped[int | None] = mapped_column(default=None)
    url: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    provider: Mapped[str] = mapped_column(String(32), default="mailer")
    # The provider's own id of the event (SendGrid's sg_event_id): a webhook that
    # delivers an event twice records it once.
    provider_event_id: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    # Why it bounced or was dropped, as the provider or the receiving server said.
    reason: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
