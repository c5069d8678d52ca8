from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text

from mailer.storage import Database, MailingList, open_database
from mailer.storage.database import create_database_engine, current_revision, head_revision
from tests.support.cli import Cli

# Migrations run here from an empty schema.
pytestmark = pytest.mark.empty_database


def test_opening_applies_every_migration(db: Database) -> None:
    assert current_revision(db.engine) == head_revision()
    tables = set(inspect(db.engine).get_table_names())
    assert {"lists", "subscribers", "subscriptions", "suppressions"} <= tables


def test_opening_again_changes_nothing(database_url: str) -> None:
    open_database(database_url).close()
    again = open_database(database_url)
    assert current_revision(again.engine) == head_revision()
    again.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_durable_commits(tmp_path: object) -> None:
    db = open_database(f"sqlite:///{tmp_path}/x/mailer.db")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        # FULL (2): a claim of the ledger survives a power cut once committed.
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
    db.close()


def test_times_come_back_aware_and_in_utc(db: Database) -> None:
    berlin = timezone(timedelta(hours=1))
    created = datetime(2026, 3, 1, 10, 30, tzinfo=berlin)
    with db.session() as session:
        session.add(MailingList(name="news", created_at=created))
    with db.session() as session:
        stored = session.scalar(select(MailingList.created_at))
    assert stored == created
    assert stored is not None and stored.tzinfo == UTC


def test_naive_times_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), db.session() as session:
        session.add(MailingList(name="news", created_at=datetime(2026, 1, 1)))


def test_db_upgrade_command(cli: Cli) -> None:
    first = cli("db", "upgrade").stdout
    assert "revision" in first
    assert "already at revision" in cli("db", "upgrade").stdout


def test_an_unreachable_database_is_a_one_line_error(tmp_path: object) -> None:
    from mailer.exceptions import ConfigError

    with pytest.raises(ConfigError, match="database_url"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(ConfigError, match="not a database URL"):
        create_database_engine("not a url")


def test_the_migrations_build_exactly_the_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mailer.storage.models import Base, ours

    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": ours})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrading_a_database_with_lists_gives_each_its_name_as_title(database_url: str) -> None:
    from alembic import command

    from mailer.storage.database import _alembic_config, upgrade

    engine = create_database_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")  # the schema before lists had titles
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        for name in ("weekly", "Morning Briefing"):  # the second from before the slug rule
            connection.execute(
                text(
                    "INSERT INTO lists (name, description, double_opt_in, created_at) "
                    "VALUES (:name, '', false, :created)"
                ),
                {"name": name, "created": created},
            )
    assert upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT name, title FROM lists ORDER BY name")).all()
    assert [tuple(row) for row in rows] == [
        ("Morning Briefing", "Morning Briefing"),
        ("weekly", "weekly"),
    ]
    column = next(c for c in inspect(engine).get_columns("lists") if c["name"] == "title")
    assert column["nullable"] is False
    engine.dispose()
    db = open_database(database_url)
    with db.session() as session:
        stored = session.scalar(select(MailingList).where(MailingList.name == "weekly"))
        assert stored is not None and stored.title == "weekly"
    db.close()
