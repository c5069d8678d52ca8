"""indexes for the admin: a list's members in id order, a subscriber's deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A page of a list's members (by status or not) is a range of one of these, in
    # subscriber-id order, instead of a sort of the whole list.
    op.create_index(
        "ix_subscriptions_list_subscriber", "subscriptions", ["list_id", "subscriber_id"]
    )
    op.create_index(
        "ix_subscriptions_list_status_subscriber",
        "subscriptions",
        ["list_id", "status", "subscriber_id"],
    )
    # A subscriber's last deliveries; forgetting one also deletes theirs (ON DELETE
    # CASCADE), which without it reads the whole ledger.
    op.create_index("ix_deliveries_subscriber", "deliveries", ["subscriber_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_subscriber", table_name="deliveries")
    op.drop_index("ix_subscriptions_list_status_subscriber", table_name="subscriptions")
    op.drop_index("ix_subscriptions_list_subscriber", table_name="subscriptions")
