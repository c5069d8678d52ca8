"""The test databases: SQLite always, and PostgreSQL too when ``MAILER_TEST_DATABASE_URL``
names one (each pytest-xdist worker then gets a database of its own)."""

from __future__ import annotations

import os

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
    already at the newest migration is kept with its tables emptied instead: a tenth of
    the time of migrating afresh, which every test would otherwise pay."""
    if not empty and _truncated(url):
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _truncated(url: str) -> bool:
    """Empties every table if the schema is at the newest migration; False if it is not."""
    from mailer.storage.database import head_revision

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            tables = (
                connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
                .scalars()
                .all()
            )
            if "alembic_version" not in tables:
                return False
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if version != head_revision():
                return False
            names = ", ".join(f'"{t}"' for t in tables if t != "alembic_version")
            if names:
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return True
    finally:
        engine.dispose()
