"""workers: procrastinate's job queue (PostgreSQL only), the workers' own rows for
``mailer workers ls``, and the throttles a provider's 429 sets for every worker.

procrastinate's schema comes in here, from the procrastinate release installed (its
``schema.sql``, what ``procrastinate schema --apply`` runs), so that ``mailer db
upgrade`` is the one step that readies a database, and the queue is versioned with the
tables whose rows its jobs name. A later procrastinate whose schema changes comes with
a migration of ours that runs its migration files.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailer.storage.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_workers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("started_at", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("seen_at", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
    )
    op.create_table(
        "send_throttles",
        sa.Column("backend", sa.String(64), primary_key=True),
        sa.Column("until", mailer.storage.types.UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # exec_driver_sql: the schema's own % signs are not parameters.
        op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().exec_driver_sql(_DROP_PROCRASTINATE.replace("%", "%%"))
    op.drop_table("send_throttles")
    op.drop_table("send_workers")


# Everything procrastinate's schema creates is named procrastinate_*: its tables, then
# its functions and types (the tables' triggers go with them).
_DROP_PROCRASTINATE = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT tablename FROM pg_tables
           WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
    EXECUTE format('DROP TABLE %I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
    EXECUTE format('DROP FUNCTION %s CASCADE', r.f);
  END LOOP;
  FOR r IN SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = current_schema() AND typname LIKE 'procrastinate%'
             AND t.typtype IN ('e', 'c') LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
  END LOOP;
END $$
"""
