"""event counters in shards: a slot's count of a kind may be several rows, which the
reports sum, so that writers on PostgreSQL do not wait for each other's commits

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailer.storage.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_KEY = ["campaign_id", "kind", "hard", "slot"]
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The rows there are become shard 0.
        op.add_column(
            "event_counts",
            sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0"),
        )
        op.drop_constraint("event_counts_pkey", "event_counts", type_="primary")
        op.create_primary_key("event_counts_pkey", "event_counts", [*_KEY, "shard"])
        return
    _rebuild_sqlite(
        [*_KEY, "shard"],
        "SELECT campaign_id, kind, hard, slot, 0, total, first FROM event_counts",
    )


def downgrade() -> None:
    # The shards of a slot summed into one row again.
    summed = (
        "SELECT campaign_id, kind, hard, slot, sum(total) AS total, sum(first) AS first "
        "FROM event_counts GROUP BY campaign_id, kind, hard, slot"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TEMPORARY TABLE summed AS {summed}")
        op.execute("DELETE FROM event_counts")
        op.execute(
            "INSERT INTO event_counts (campaign_id, kind, hard, slot, total, first) "
            "SELECT campaign_id, kind, hard, slot, total, first FROM summed"
        )
        op.execute("DROP TABLE summed")
        op.drop_constraint("event_counts_pkey", "event_counts", type_="primary")
        op.create_primary_key("event_counts_pkey", "event_counts", _KEY)
        op.drop_column("event_counts", "shard")
        return
    _rebuild_sqlite(_KEY, summed)


def _rebuild_sqlite(key: list[str], rows: str) -> None:
    """SQLite changes a primary key by a new table: ``rows`` (campaign_id, kind, hard,
    slot, the shard if ``key`` has it, total, first) go into one with ``key``, which
    then takes the old one's place."""
    shard = [sa.Column("shard", sa.SmallInteger(), nullable=False, server_default="0")]
    op.create_table(
        "event_counts_new",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *_KINDS, name="eventkind", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("slot", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        *(shard if "shard" in key else []),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*key),
    )
    columns = "campaign_id, kind, hard, slot, " + ("shard, " if "shard" in key else "")
    op.execute(f"INSERT INTO event_counts_new ({columns}total, first) {rows}")
    op.drop_table("event_counts")
    op.rename_table("event_counts_new", "event_counts")
