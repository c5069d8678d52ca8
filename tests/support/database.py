"""The test databases: SQLite always, and PostgreSQL too when ``MAILER_TEST_DATABASE_URL``
names one (each pytest-xdist worker then gets a database of its own)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import create_engine, make_url, text


def worker_database(url: str | None) -> str | None:
    """The PostgreSQL database of this test process: with pytest-xdist each worker gets
    a database of its own beside the one named (``test`` → ``test_gw0``), made on first
    use, so that workers never reset each other's schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or worker is None:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = worker_database(os.environ.get("MAILER_TEST_DATABASE_URL"))
#: The backends every test that asks for ``database_url`` runs on.
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def reset_postgres(url: str, *, empty: bool = True) -> None:
    """An empty public schema: what a test finds on PostgreSQL. Unless ``empty``, a schema
    already at the newest migration is kept with its tables emptied instead, which every
    test would otherwise pay for migrating afresh."""
    if not empty and _emptied(url):
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# Deletes the rows of the tables that have any and restarts the sequences used, in one
# round trip: a tenth of the time of TRUNCATE, which rewrites every table's files, and a
# test leaves rows in a few tables only. session_replication_role skips the foreign keys'
# checks (the test user is a superuser), so the order of the tables does not matter.
_EMPTY_TABLES = text(
    """
DO $$
DECLARE t record; has_rows boolean;
BEGIN
  SET LOCAL session_replication_role = replica;
  FOR t IN SELECT tablename FROM pg_tables
           WHERE schemaname = 'public' AND tablename <> 'alembic_version' LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', t.tablename) INTO has_rows;
    IF has_rows THEN EXECUTE format('DELETE FROM %I', t.tablename); END IF;
  END LOOP;
  FOR t IN SELECT sequencename FROM pg_sequences
           WHERE schemaname = 'public' AND last_value IS NOT NULL LOOP
    EXECUTE format('ALTER SEQUENCE %I RESTART', t.sequencename);
  END LOOP;
END $$
"""
)


def _emptied(url: str) -> bool:
    """Empties every table if the schema is at the newest migration; False if it is not."""
    from mailer.storage.database import head_revision

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
                return False
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if version != head_revision():
                return False
            connection.execute(_EMPTY_TABLES)
            return True
    finally:
        engine.dispose()


def migrated_sqlite(folder: Path) -> Path:
    """A SQLite database in ``folder`` at the newest migration: the template that
    :func:`sqlite_at_head` copies."""
    from mailer.storage import open_database

    path = folder / "mailer.db"
    database = open_database(f"sqlite:///{path}")
    database.close()  # the last connection's close folds the WAL into the file
    return path


def sqlite_at_head(template: Path, path: Path) -> str:
    """A SQLite database at ``path`` at the newest migration, copied from ``template``
    (migrating afresh cost every test 80 ms); its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"
