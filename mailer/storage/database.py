"""Opening the database: the engine, its SQLite pragmas, and migrations on open."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailer.exceptions import ConfigError

if sys.platform != "win32":
    import fcntl

if TYPE_CHECKING:
    # Alembic is imported where migrations run: a worker process that only sends does
    # without it.
    from alembic.config import Config

__all__ = ["Database", "open_database"]


class Database:
    """An engine and its session factory. ``session()`` commits on success."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._turns = _turns_file(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """``session()`` for a writer that commits often (the web tier's group commits):
        on a SQLite file, writers of every process take turns on a lock of the kernel
        before they begin, and the next one starts the moment the last one released it.
        SQLite's own wait for its write lock polls with growing sleeps (up to 100 ms
        a try), which under a wave of hits made some requests wait a second."""
        if self._turns is None:
            with self.session() as session:
                yield session
            return
        with open(self._turns, "ab") as turn:
            fcntl.flock(turn, fcntl.LOCK_EX)
            # Released when the file closes, after the commit.
            with self.session() as session:
                yield session

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _turns_file(engine: Engine) -> Path | None:
    """The file the writers of a SQLite file database lock to take turns (None: the
    database needs none, or the system has no flock)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return None if sys.platform == "win32" else Path(f"{database}-writers.lock")


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to ``url`` and, unless told not to, apply pending migrations."""
    engine = create_database_engine(url)
    if migrate:
        upgrade(engine)
    return Database(engine)


def create_database_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise ConfigError(f"not a database URL: {err}", key="database_url") from None
    # orjson: attributes and tags are JSON, and a million-row import encodes two values
    # a row; the standard library's encoder was a fifth of the import's time.
    options: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # How long a statement waits for another process's lock before "database is
        # locked" (a send then retries, for database_retry_seconds): 30 s, or the
        # URL's ?timeout=SECONDS.
        timeout = parsed.query.get("timeout", "30")
        try:
            options["connect_args"] = {"timeout": float(str(timeout))}
        except ValueError:
            raise ConfigError(
                f"?timeout= must be seconds, not {timeout!r}", key="database_url"
            ) from None
    elif parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        # psycopg 3 is the driver we ship; a plain postgresql:// URL means it.
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, **options)
    except Exception as err:
        raise ConfigError(f"cannot use database: {err}", key="database_url") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        logging.getLogger("psycopg").addFilter(_not_lost_pipelines)
    return engine


def _not_lost_pipelines(record: logging.LogRecord) -> bool:
    # psycopg warns, once for each, that it could not end a pipeline on a connection the
    # server dropped; the send retries on a new one and says itself what matters.
    return not str(record.msg).startswith("error ignored terminating")


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a send or an import writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit is on disk when it returns, as with PostgreSQL's defaults. With
    # NORMAL a power cut could undo the last commits, among them a claim of the ledger
    # (whose messages may be out already: a resend) or an unsubscribe we confirmed. In
    # WAL mode it costs one fsync of the log per commit, and a send commits per batch.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("mailer.storage") / "migrations"))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest migration shipped: read once, as the scripts do not change while the
    process runs (every open asks, and reading them costs ten milliseconds)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> bool:
    """Bring the schema to the newest migration; returns whether anything was applied."""
    from alembic import command

    try:
        if current_revision(engine) == head_revision():
            return False
        config = _alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as err:
        from mailer.storage.retry import cause

        raise ConfigError(f"cannot open database: {cause(err)}", key="database_url") from None
    return True
