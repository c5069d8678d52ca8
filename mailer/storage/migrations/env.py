"""Alembic's environment: migrations run on the connection mailer hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

# The modules whose tables are on Base.metadata once imported.
import mailer.storage.accounts
import mailer.storage.counters
import mailer.storage.events
import mailer.storage.rate_limits
import mailer.storage.tallies  # noqa: F401
from mailer.storage.models import Base, ours

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("mailer migrations run through mailer.storage.database.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite changes a table by copying it; batch mode does that for us.
    render_as_batch=True,
    include_name=ours,
)
with context.begin_transaction():
    context.run_migrations()
