"""The send ledger's rows per campaign and status, kept by the database itself.

Counting a campaign's million ledger rows by status takes longer than a page may (about
150 ms on SQLite), and a dozen statements of :mod:`mailer.campaigns.ledger` move rows
from one status to another, besides the rows that forgetting a subscriber deletes by
cascade. Triggers on ``deliveries`` (migration 0007) keep these tallies in the same
transaction as every one of them, so that no writer can forget to.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, PrimaryKeyConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mailer.storage.models import Base, DeliveryStatus, string_enum

__all__ = ["DeliveryTally"]


class DeliveryTally(Base):
    __tablename__ = "delivery_tallies"
    __table_args__ = (PrimaryKeyConstraint("campaign_id", "status"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(string_enum(DeliveryStatus))
    # Rows in that status now (0 once they have all moved on).
    count: Mapped[int] = mapped_column(BigInteger)
