"""The procrastinate app: its connection to the project's PostgreSQL database, and the
queue and task name the sender and the workers agree on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from mailer.exceptions import ConfigError

if TYPE_CHECKING:
    import procrastinate

    from mailer.settings import Settings

__all__ = ["QUEUE", "SHARED", "TASK", "conninfo", "make_app", "shared", "with_shared"]

QUEUE = "mailer-batches"
TASK = "mailer.send_batch"

#: The sender's settings that make a campaign's messages, which every job carries: a
#: worker's own file needs only database_url and the secrets (secret_key, smtp_url or
#: sendgrid_api_key, dkim_private_key), and whichever worker sends, the messages are the
#: same.
SHARED = (
    "backend",
    "base_url",
    "publisher_name",
    "postal_address",
    "from_address",
    "reply_to",
    "timezone",
    "utm_source",
    "utm_medium",
    "tracking",
    "dkim_selector",
    "dkim_domain",
    "sendgrid_host",
    "smtp_concurrency",
)


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


def shared(settings: Settings) -> dict[str, Any]:
    """The settings a job carries (:data:`SHARED`), as JSON."""
    return settings.model_dump(mode="json", include=set(SHARED))


def with_shared(own: Settings, carried: dict[str, Any]) -> Settings:
    """A worker's settings with what the job carried in place of its own. A job that
    asks for DKIM signing from a worker without the key cannot be sent there."""
    unknown = set(carried) - set(SHARED)
    if unknown:
        raise ConfigError(f"a job carried settings a worker does not take: {sorted(unknown)}")
    settings = own.model_copy(update=carried)
    if settings.dkim_selector and settings.dkim_private_key is None:
        raise ConfigError(
            "the sender signs with DKIM, and this worker has no dkim_private_key",
            key="dkim_private_key",
        )
    return settings
