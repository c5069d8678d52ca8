"""The procrastinate app: its connection to the project's PostgreSQL database, and the
queue and task name the sender and the workers agree on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from mailer.exceptions import ConfigError

if TYPE_CHECKING:
    import procrastinate

    from mailer.settings import Settings

__all__ = ["QUEUE", "TASK", "conninfo", "make_app"]

QUEUE = "mailer-batches"
TASK = "mailer.send_batch"


def conninfo(database_url: str) -> str:
    """``database_url`` as libpq reads it: SQLAlchemy's ``postgresql+psycopg://`` names
    the driver, which libpq does not know."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigError(
            'dispatch = "procrastinate" needs a PostgreSQL database_url', key="database_url"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(settings: Settings) -> procrastinate.App:
    """An app on the project's database; nothing is connected until it is opened (a
    sender defers on its own connection and never opens it)."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
    return procrastinate.App(connector=connector)
