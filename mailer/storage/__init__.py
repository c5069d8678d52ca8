"""The database: SQLAlchemy 2 models and Alembic migrations.

SQLite (WAL, foreign keys on) is the embedded default; PostgreSQL through psycopg 3 is
supported. Every command that opens the database brings it to the newest migration first.
"""

from mailer.storage.accounts import AdminUser, AuditEntry, Role
from mailer.storage.counters import EventCount, record_events
from mailer.storage.database import Database, open_database
from mailer.storage.event_rows import EventFirst
from mailer.storage.events import Event, EventKind
from mailer.storage.models import (
    Base,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from mailer.storage.rate_limits import RateLimitHit
from mailer.storage.tallies import DeliveryTally

__all__ = [
    "AdminUser",
    "AuditEntry",
    "Base",
    "Campaign",
    "CampaignStatus",
    "Database",
    "Delivery",
    "DeliveryStatus",
    "DeliveryTally",
    "Event",
    "EventCount",
    "EventFirst",
    "EventKind",
    "MailingList",
    "RateLimitHit",
    "Role",
    "Subscriber",
    "Subscription",
    "SubscriptionStatus",
    "Suppression",
    "SuppressionReason",
    "open_database",
    "record_events",
]
