"""event counters: a campaign's events per kind and five-minute slot, and which event
was the first of its kind for its message; filled from the events already recorded.
Partial indexes of the clicks and of the ledger's bounced rows, for the report.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailer.storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_KINDS = (
    "processed",
    "delivered",
    "deferred",
    "bounced",
    "dropped",
    "opened",
    "clicked",
    "unsubscribed",
    "resubscribed",
    "complained",
    "unknown",
)
_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _kind() -> sa.Enum:
    return sa.Enum(*_KINDS, name="eventkind", native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "event_counts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("slot", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "kind", "hard", "slot"),
    )
    op.create_table(
        "event_firsts",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", _ROW_ID, nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("event_id", _ROW_ID, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "delivery_id", "kind", "hard"),
    )
    op.create_index(
        "ix_deliveries_campaign_bounced",
        "deliveries",
        ["campaign_id", "id"],
        sqlite_where=sa.text("bounced"),
        postgresql_where=sa.text("bounced"),
    )
    op.create_index(
        "ix_events_clicks",
        "events",
        ["campaign_id", "kind", "link_index", "url", "delivery_id"],
        sqlite_where=sa.text("kind = 'clicked'"),
        postgresql_where=sa.text("kind = 'clicked'"),
    )
    _backfill()


def _slot(dialect: str) -> str:
    """SQL for the start of the five-minute slot of ``e.occurred_at`` (naive UTC)."""
    if dialect == "sqlite":
        # Stored as text, 'YYYY-MM-DD HH:MM:SS.ffffff', as SQLAlchemy writes it.
        return (
            "substr(e.occurred_at, 1, 14) || "
            "printf('%02d', CAST(substr(e.occurred_at, 15, 2) AS INTEGER) / 5 * 5) || "
            # (':' apart, else ":00" would read as a bound parameter)
            "':' || '00.000000'"
        )
    return (
        "date_trunc('hour', e.occurred_at) + "
        "floor(extract(minute FROM e.occurred_at) / 5) * interval '5 minutes'"
    )


def backfill_statements(dialect: str) -> list[str]:
    """The SQL that counts the events already recorded (bench/admin.py runs it too)."""
    slot = _slot(dialect)
    return [
        # The first event of each kind for each message is the earliest recorded one, as
        # the recording function would have found it.
        "INSERT INTO event_firsts (campaign_id, delivery_id, kind, hard, event_id) "
        "SELECT campaign_id, delivery_id, kind, hard, min(id) FROM events "
        "WHERE campaign_id IS NOT NULL AND delivery_id IS NOT NULL "
        "GROUP BY campaign_id, delivery_id, kind, hard",
        "INSERT INTO event_counts (campaign_id, kind, hard, slot, total, first) "
        f"SELECT e.campaign_id, e.kind, e.hard, {slot}, count(*), "
        "sum(CASE WHEN e.delivery_id IS NULL OR f.event_id IS NOT NULL THEN 1 ELSE 0 END) "
        "FROM events e LEFT JOIN event_firsts f ON f.campaign_id = e.campaign_id "
        "AND f.delivery_id = e.delivery_id AND f.kind = e.kind AND f.hard = e.hard "
        "AND f.event_id = e.id "
        f"WHERE e.campaign_id IS NOT NULL GROUP BY e.campaign_id, e.kind, e.hard, {slot}",
    ]


def _backfill() -> None:
    for statement in backfill_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_events_clicks", table_name="events")
    op.drop_index("ix_deliveries_campaign_bounced", table_name="deliveries")
    op.drop_table("event_firsts")
    op.drop_table("event_counts")
