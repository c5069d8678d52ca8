"""Whether the database answers and its schema is up to date. Opens no file that does
not exist (SQLite would create it) and migrates nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from mailer.checks.model import Check, Status
from mailer.exceptions import ConfigError
from mailer.settings import Settings
from mailer.storage.database import create_database_engine, current_revision, head_revision

__all__ = ["database_check"]


def database_check(settings: Settings) -> Check:
    try:
        url = make_url(settings.database_url)
    except ArgumentError as err:
        return Check("database", Status.FAIL, f"not a database URL: {err}", "fix database_url")
    shown = url.render_as_string(hide_password=True)
    file = url.database if url.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).is_file():
        return Check(
            "database",
            Status.FAIL,
            f"{shown} does not exist",
            "mailer init (or mailer db upgrade) creates it",
        )
    try:
        engine = create_database_engine(settings.database_url)
    except ConfigError as err:
        return Check("database", Status.FAIL, str(err), "fix database_url")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(engine)
    except SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        return Check(
            "database",
            Status.FAIL,
            f"cannot connect to {shown}: {reason}",
            "check database_url and that the server runs",
        )
    finally:
        engine.dispose()
    head = head_revision()
    if current != head:
        return Check(
            "database",
            Status.WARN,
            f"{shown} answers, its schema is at {current or 'nothing'}, not {head}",
            "mailer db upgrade applies the migrations (every command does it on opening)",
        )
    return Check("database", Status.OK, f"{shown} answers, schema up to date")
