"""campaigns, the send ledger, schedules and digests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import mailer.storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    """A JSON column's type: JSONB on PostgreSQL. (Written out here, not imported, so
    that the migration stays what it was whatever the models become.)"""
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # One step per table, in the order their foreign keys need.
    _campaigns()
    _campaign_lists()
    _deliveries()
    _digests()
    _digest_items()


def _campaigns() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "scheduled",
                "sending",
                "paused",
                "sent",
                "cancelled",
                "failed",
                "missed",
                name="campaignstatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=300), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("ctas", _json(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("article", _json(), nullable=False),
        sa.Column("rendered", _json(), nullable=False),
        sa.Column("created_at", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("scheduled_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.Column("local_time", sa.String(length=32), nullable=True),
        sa.Column("tracking", sa.Boolean(), nullable=False),
        sa.Column("links", _json(), nullable=False),
        sa.Column("started_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.Column("finished_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("heartbeat_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )


def _campaign_lists() -> None:
    op.create_table(
        "campaign_lists",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("campaign_id", "list_id"),
    )


def _deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "skipped",
                "unknown",
                name="deliverystatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("bounced", sa.Boolean(), nullable=False),
        sa.Column("created_at", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "subscriber_id"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_campaign_status", ["campaign_id", "status", "id"], unique=False
        )


def _digests() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("feed", sa.Text(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=False),
        sa.Column("ctas", _json(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("last_run_at", mailer.storage.types.UTCDateTime(), nullable=True),
        sa.Column("last_result", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def _digest_items() -> None:
    op.create_table(
        "digest_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=1000), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["digest_id"], ["digests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest_id", "key"),
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_campaign_status")

    op.drop_table("digest_items")
    op.drop_table("digests")
    op.drop_table("deliveries")
    op.drop_table("campaign_lists")
    op.drop_table("campaigns")
