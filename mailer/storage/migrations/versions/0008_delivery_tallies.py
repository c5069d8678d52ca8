"""delivery tallies: the ledger's rows per campaign and status, as deltas that the
ledger's statements write (mailer.storage.tallies); filled from the rows already there.
On PostgreSQL, the index of the clicks holds the events' ids too (an index-only scan).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_STATUSES = ("pending", "sending", "sent", "failed", "skipped", "unknown")

#: Tallies every campaign's ledger rows; the benchmark runs it too, after writing a
#: ledger by SQL.
BACKFILL = (
    "INSERT INTO delivery_tallies (campaign_id, status, delta) "
    "SELECT campaign_id, status, count(*) FROM deliveries GROUP BY campaign_id, status"
)


def upgrade() -> None:
    op.create_table(
        "delivery_tallies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *_STATUSES,
                name="deliverystatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_delivery_tallies_campaign", "delivery_tallies", ["campaign_id", "status", "delta"]
    )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        _clicks(include=["id"])


def _clicks(include: list[str]) -> None:
    op.drop_index("ix_events_clicks", table_name="events")
    op.create_index(
        "ix_events_clicks",
        "events",
        ["campaign_id", "kind", "link_index", "url", "delivery_id"],
        postgresql_where=sa.text("kind = 'clicked'"),
        postgresql_include=include,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _clicks(include=[])
    op.drop_index("ix_delivery_tallies_campaign", table_name="delivery_tallies")
    op.drop_table("delivery_tallies")
