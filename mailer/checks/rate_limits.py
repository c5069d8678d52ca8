"""Whether the Redis of ``redis_url`` answers PING, when it is set: the web app counts
the subscribe limits there. Stores nothing."""

from __future__ import annotations

from mailer.checks.model import Check, CheckOptions, Status
from mailer.settings import Settings
from mailer.web.ratelimit import redis_location

__all__ = ["redis_checks"]


def redis_checks(settings: Settings, options: CheckOptions) -> list[Check]:
    """One check when ``redis_url`` is set, none otherwise."""
    if settings.redis_url is None:
        return []
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
    from redis.retry import Retry

    client = Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=options.timeout,
        socket_timeout=options.timeout,
        retry=Retry(NoBackoff(), 0),
    )
    where = redis_location(client)
    try:
        client.ping()
    except RedisError as err:
        # A WARN, not a FAIL: while Redis does not answer, the web app counts the limits
        # in the database, and no mail depends on it.
        reason = str(err).rstrip(".") or type(err).__name__
        return [
            Check(
                "redis",
                Status.WARN,
                f"cannot reach {where}: {reason}; the subscribe limits are counted in the "
                "database meanwhile",
                "check redis_url and that Redis runs",
            )
        ]
    finally:
        client.close()
    return [Check("redis", Status.OK, f"{where} answers PING: the subscribe limits count there")]
