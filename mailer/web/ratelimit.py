"""Sliding-window rate limits: at most ``limit`` hits per key in any ``window`` seconds.

:class:`SharedWindow` counts in the database, so that every web worker process sees
every hit (the subscribe limits); :class:`RedisWindow` counts them in Redis instead when
``redis_url`` is set (:func:`subscribe_limits` makes the pair either way);
:class:`SlidingWindow` counts in the process, for what one process alone must limit."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mailer.storage.database import Database
from mailer.storage.rate_limits import take_hit

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.orm import Session

__all__ = [
    "REDIS_PREFIX",
    "RateLimit",
    "RedisLink",
    "RedisWindow",
    "SharedWindow",
    "SlidingWindow",
    "SubscribeLimits",
    "redis_location",
    "subscribe_limits",
]

log = logging.getLogger(__name__)

#: Every key a RedisWindow stores begins so (the rest is the SHA-256 of the limit's key).
REDIS_PREFIX = "mailer:ratelimit:"
#: After Redis failed to answer, this many seconds of the clock go by before a hit tries
#: it again: meanwhile hits go straight to the database instead of waiting on each one.
REDIS_RETRY_SECONDS = 10.0

# One hit, run by Redis as a whole (no other command in between), so that two workers'
# hits of one key are taken in turn. KEYS[1]: the key's sorted set, one member per hit
# counted, scored by its time. ARGV: the hit's time, the newest time that is out of the
# window, the limit, a member unique to this hit, and the key's lifetime in
# milliseconds (a window: no key outlives its last hit by more).
_HIT_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RateLimit(Protocol):
    def hit(self, key: str, session: Session | None = None) -> bool:
        """Count a hit for ``key``; False (and not counted) if it is over the limit.
        Where the hits are the database's, in ``session``'s transaction when one is
        given (they commit with what they guard), else in one of their own."""
        ...


class _Window:
    """At most ``limit`` hits per key in any ``window`` seconds of ``clock`` (a Unix
    time): what every window here is given."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]):
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs a positive limit and window")
        self.limit = limit
        self.window = window
        self.clock = clock


class SharedWindow(_Window):
    """Counts hits per key over the last ``window`` seconds of ``clock`` (a Unix time)
    in ``database``: each hit is one short transaction of its own, committed before the
    request goes on."""

    def __init__(self, database: Database, limit: int, window: float, clock: Callable[[], float]):
        super().__init__(limit, window, clock)
        self.database = database

    def hit(self, key: str, session: Session | None = None) -> bool:
        if session is not None:
            return take_hit(session, key, self.limit, self.window, self.clock())
        # A write that commits at once: it takes its turn with the web tier's others.
        with self.database.writing() as own:
            return take_hit(own, key, self.limit, self.window, self.clock())


class RedisLink:
    """One Redis client with the hit script, shared by the windows of a process, and
    whether Redis answered the last time it was asked (so that an outage is logged once,
    not at every hit, and is not waited on at every hit either)."""

    def __init__(self, client: Redis, *, prefix: str = REDIS_PREFIX):
        from redis.exceptions import RedisError  # redis loads only when it is configured

        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_HIT_SCRIPT)
        self._errors = RedisError
        # While set, Redis is not asked before this time of the windows' clock.
        self._retry_at: float | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, prefix: str = REDIS_PREFIX) -> RedisLink:
        """A link to the Redis at ``url``, with timeouts short enough that a subscribe
        never waits long on a Redis that is gone (the URL's own options win)."""
        from redis import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
            # Once more at once: a pooled connection that a restart of Redis closed.
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, prefix=prefix)

    def key(self, key: str) -> str:
        """The Redis key of a limit's ``key``: hashed, for a limit per client must not
        store its address."""
        return self.prefix + hashlib.sha256(key.encode()).hexdigest()

    def take(self, key: str, limit: int, window: float, now: float) -> bool | None:
        """Count a hit of ``key`` at ``now`` unless it had ``limit`` in the last
        ``window`` seconds; whether it was counted, or None if Redis did not answer
        (or is resting after it did not)."""
        with self._lock:
            if self._retry_at is not None and now < self._retry_at:
                return None
        ttl = max(1, math.ceil(window * 1000))
        try:
            taken = self._script(
                keys=[self.key(key)], args=[now, now - window, limit, uuid.uuid4().hex, ttl]
            )
        except self._errors as err:
            self._failed(now, err)
            return None
        self._answered()
        return bool(taken)

    def _failed(self, now: float, err: Exception) -> None:
        with self._lock:
            first = self._retry_at is None
            self._retry_at = now + REDIS_RETRY_SECONDS
        if first:
            log.warning(
                "Redis at %s does not answer (%s): the subscribe limits are counted in "
                "the database until it does",
                redis_location(self.client),
                err or type(err).__name__,
            )

    def _answered(self) -> None:
        with self._lock:
            was_down, self._retry_at = self._retry_at is not None, None
        if was_down:
            log.warning(
                "Redis at %s answers again: the subscribe limits count there",
                redis_location(self.client),
            )

    def close(self) -> None:
        self.client.close()


def redis_location(client: Redis) -> str:
    """Where ``client`` connects, without the URL's password: host:port/db, or the
    socket's path."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return str(kwargs["path"])
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


class RedisWindow(_Window):
    """Counts hits per key over the last ``window`` seconds of ``clock`` (a Unix time)
    in Redis, so that every web worker process, on any machine, sees every hit: a
    sorted set per key (its SHA-256), each hit one script that Redis runs alone, each
    key expiring a window after its last hit.

    When Redis does not answer, the hit is counted by ``fallback`` (the database's
    :class:`SharedWindow`): subscribing goes on, and the limit still holds across the
    workers, though a client's hits in Redis and in the database are counted apart."""

    def __init__(
        self,
        link: RedisLink,
        limit: int,
        window: float,
        clock: Callable[[], float],
        *,
        fallback: RateLimit,
    ):
        super().__init__(limit, window, clock)
        self.link = link
        self.fallback = fallback

    def hit(self, key: str, session: Session | None = None) -> bool:
        """Count a hit for ``key``; False (and not counted) if it is over the limit."""
        taken = self.link.take(key, self.limit, self.window, self.clock())
        return self.fallback.hit(key, session) if taken is None else taken


@dataclass(frozen=True)
class SubscribeLimits:
    """The subscribe limits, per client address and per email address, and what
    closes them when the app shuts down."""

    ip: RateLimit
    address: RateLimit
    close: Callable[[], None]


def subscribe_limits(
    database: Database,
    limit: int,
    window: float,
    clock: Callable[[], float],
    redis_url: str | None = None,
) -> SubscribeLimits:
    """Two limits of ``limit`` hits per ``window`` seconds that every worker process
    shares: in Redis when ``redis_url`` is given (the database if it does not answer),
    else in the database."""
    ip = SharedWindow(database, limit, window, clock)
    address = SharedWindow(database, limit, window, clock)
    if not redis_url:
        return SubscribeLimits(ip, address, close=lambda: None)
    link = RedisLink.from_url(redis_url)
    return SubscribeLimits(
        RedisWindow(link, limit, window, clock, fallback=ip),
        RedisWindow(link, limit, window, clock, fallback=address),
        close=link.close,
    )


class SlidingWindow(_Window):
    """Counts hits per key over the last ``window`` seconds of ``clock`` (a Unix time).

    At most ``max_keys`` keys are remembered; the least recently hit are dropped first,
    so a flood of distinct keys cannot exhaust memory.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float],
        *,
        max_keys: int = 100_000,
    ):
        super().__init__(limit, window, clock)
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, session: Session | None = None) -> bool:
        """Count a hit for ``key``; False (and not counted) if it is over the limit
        (in this process: ``session`` is not its business)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            self._hits.move_to_end(key)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return True

    def remaining(self, key: str) -> int:
        """How many hits ``key`` has left now."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key, deque())
            return self.limit - sum(1 for at in hits if at > now - self.window)
