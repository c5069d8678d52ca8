"""The tables. Addresses are stored once (``subscribers``); each list membership is a
``subscriptions`` row with its status and when and how it last changed; ``suppressions``
holds hashed addresses that must never be mailed, whatever list they are on."""

from __future__ import annotations

import enum
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Column,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mailer.storage.types import JSONType, UTCDateTime, utcnow

__all__ = [
    "Base",
    "Campaign",
    "CampaignStatus",
    "Delivery",
    "DeliveryStatus",
    "Digest",
    "DigestItem",
    "MailingList",
    "SendWorker",
    "Subscriber",
    "Subscription",
    "SubscriptionStatus",
    "Suppression",
    "SuppressionReason",
    "Throttle",
    "ours",
]


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }


def string_enum(cls: type[enum.StrEnum]) -> Enum:
    """A StrEnum column stored as VARCHAR with a CHECK: the same on every database, and
    a new member needs no ALTER TYPE on PostgreSQL."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class SubscriptionStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"  # left every list
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    FORGOTTEN = "forgotten"  # personal data erased on request


def _name_as_title(context: DefaultExecutionContext) -> Any:
    return context.get_current_parameters()["name"]  # type: ignore[no-untyped-call]


class MailingList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The slug in links and commands (see mailer.subscribers.lists.check_name); lists
    # made before that rule keep the names they have.
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # What readers see: on the pages, in the confirmation mail and the footer.
    title: Mapped[str] = mapped_column(String(200), default=_name_as_title)
    description: Mapped[str] = mapped_column(Text, default="")
    double_opt_in: Mapped[bool] = mapped_column(default=False)
    # Where members without a timezone of their own live (local-time sends).
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    # The calls-to-action of this list's mailings when an article names none.
    default_cta: Mapped[list[str] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="list", cascade="all, delete-orphan", passive_deletes=True
    )


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list[str]] = mapped_column(default=list)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def first_name(self) -> str:
        """The given name: the attribute if imported as one, else the name's first word."""
        given = self.attributes.get("first_name")
        if isinstance(given, str) and given:
            return given
        return self.name.split(" ", 1)[0] if self.name else ""


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "list_id"),
        Index("ix_subscriptions_list_status", "list_id", "status"),
        # The admin's pages of a list's members, in subscriber-id order (0006).
        Index("ix_subscriptions_list_subscriber", "list_id", "subscriber_id"),
        Index("ix_subscriptions_list_status_subscriber", "list_id", "status", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    status: Mapped[SubscriptionStatus] = mapped_column(string_enum(SubscriptionStatus))
    # When and through what (cli, import, web, api, webhook, ...) the status last changed.
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_source: Mapped[str] = mapped_column(String(32), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    list: Mapped[MailingList] = relationship(back_populates="subscriptions")


class Suppression(Base):
    """An address that must not be mailed, kept as the SHA-256 of its key so that a
    forgotten person's address is not stored in the clear."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[SuppressionReason] = mapped_column(string_enum(SuppressionReason))
    source: Mapped[str] = mapped_column(String(32), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"
    FAILED = "failed"
    MISSED = "missed"  # its time passed while no scheduler ran, longer ago than allowed


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender, handed over or about to be
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # unsubscribed or suppressed by the time its turn came
    UNKNOWN = "unknown"  # in flight when the sender died: perhaps sent, perhaps not


campaign_lists = Table(
    "campaign_lists",
    Base.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("list_id", ForeignKey("lists.id", ondelete="RESTRICT"), primary_key=True),
)


class Campaign(Base):
    """One mailing: the article as it was rendered when the campaign was created, the
    lists and segment it goes to, and where it stands."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A random id for Message-IDs and provider categories, unique across databases.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[CampaignStatus] = mapped_column(string_enum(CampaignStatus), default="draft")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(300), default="")
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    segment: Mapped[str] = mapped_column(Text, default="")
    ctas: Mapped[list[str]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(Text, default="")  # the article's path or URL
    article: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rendered: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)
    # Sent at this wall-clock time ("2026-12-01T09:00") in each subscriber's timezone;
    # scheduled_at is then when the first timezone reaches it.
    local_time: Mapped[str | None] = mapped_column(String(32), default=None)
    # Open and click tracking; ``links`` are the tracked URLs, by link number.
    tracking: Mapped[bool] = mapped_column(default=True)
    links: Mapped[list[str]] = mapped_column(default=list)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # The process sending it (host:pid:random) and when it last showed it was alive.
    worker: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)

    lists: Mapped[list[MailingList]] = relationship(secondary=campaign_lists)


class Delivery(Base):
    """The send ledger: one row per campaign and subscriber, so that nobody gets a
    campaign twice, whatever crashes or restarts in between."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id"),
        Index("ix_deliveries_campaign_status", "campaign_id", "status", "id"),
        # A subscriber's deliveries, and the cascade when one is forgotten (0006).
        Index("ix_deliveries_subscriber", "subscriber_id", "id"),
        # A campaign's bounced rows, a few of a million: the report counts them (0007).
        Index(
            "ix_deliveries_campaign_bounced",
            "campaign_id",
            "id",
            sqlite_where=text("bounced"),
            postgresql_where=text("bounced"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Forgetting a subscriber deletes their ledger rows too.
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(string_enum(DeliveryStatus), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    provider_message_id: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    bounced: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)


class Digest(Base):
    """A recurring mailing of a feed's new items."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    feed: Mapped[str] = mapped_column(Text)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text, default="")
    max_items: Mapped[int] = mapped_column(default=10)
    ctas: Mapped[list[str]] = mapped_column(default=list)
    paused: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last time it looked at the feed, and what came of it.
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_result: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")

    mailing_list: Mapped[MailingList] = relationship()


class DigestItem(Base):
    """A feed item a digest has sent (by GUID, else link), so that no item goes twice."""

    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("digest_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(Text, default="")
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class SendWorker(Base):
    """A ``mailer worker`` process, as it last said: what it sends and how fast. Its row
    goes when it stops; one whose ``seen_at`` is old died without a word."""

    __tablename__ = "send_workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    concurrency: Mapped[int]
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    # The campaign of the batch in hand (None: waiting for one).
    campaign_id: Mapped[int | None] = mapped_column(default=None)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Messages a second over its last minute.
    rate: Mapped[float] = mapped_column(Float, default=0.0)


class Throttle(Base):
    """A provider said "too many" (SendGrid's 429): until ``until``, no worker of any
    machine hands that backend a batch, and the sender claims none for it."""

    __tablename__ = "send_throttles"

    backend: Mapped[str] = mapped_column(String(64), primary_key=True)
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


def ours(name: str | None, type_: str, parent_names: MutableMapping[Any, str | None]) -> bool:
    """Whether a database object is one of these models' (Alembic's ``include_name``):
    procrastinate's queue shares the database, and its schema is procrastinate's own."""
    table = parent_names.get("table_name") or (name if type_ == "table" else None)
    return not (table or name or "").startswith("procrastinate_")
