"""The subscribe limits in Redis (``redis_url``), against the real Redis on loopback
(``MAILER_TEST_REDIS_URL``, else db 15 of 127.0.0.1:6379; the tests that need it skip,
saying so, when it does not answer): the limit holds, the window slides with the
limit's own clock, a refused hit is not counted, two workers share the count and are
taken in turn, keys are hashed and expire, and a Redis out of reach leaves the counting
to the database. Each test has a key prefix of its own, deleted after it, so that test
processes running side by side never count each other's hits."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from pydantic import SecretStr
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from sqlalchemy import func, select

from mailer.addresses import address_hash, normalize_address
from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import Database
from mailer.storage.rate_limits import RateLimitHit
from mailer.web import ratelimit
from mailer.web.app import create_app
from mailer.web.ratelimit import (
    REDIS_PREFIX,
    RedisLink,
    RedisWindow,
    SharedWindow,
    subscribe_limits,
)
from tests.support.clock import Clock
from tests.support.web import BASE
from tests.web.test_subscribe import subscribe

REDIS_URL = os.environ.get("MAILER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
START = 1_000_000.0


def _redis_answers(url: str) -> str | None:
    """Why the Redis at ``url`` cannot be used, or None when it answers."""
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except RedisError as err:
        return f"no Redis at {url} ({err}); set MAILER_TEST_REDIS_URL to one"
    finally:
        client.close()
    return None


_UNREACHABLE = _redis_answers(REDIS_URL)


def redis_key(key: str) -> str:
    """The key in Redis of a limit's ``key`` under the default prefix."""
    return REDIS_PREFIX + hashlib.sha256(key.encode()).hexdigest()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def delete_keys(client: Redis, pattern: str) -> None:
    for key in client.scan_iter(match=pattern):
        client.delete(key)


@pytest.fixture
def prefix() -> str:
    return f"mailer-test:{uuid.uuid4().hex}:"


@pytest.fixture
def redis(prefix: str) -> Iterator[Redis]:
    """A client of the test Redis; the test's keys are deleted after it. Without a
    Redis, the test skips (the fallback's test needs none)."""
    if _UNREACHABLE is not None:
        pytest.skip(_UNREACHABLE)
    client = Redis.from_url(REDIS_URL)
    yield client
    delete_keys(client, f"{prefix}*")
    client.close()


@pytest.fixture
def link(redis: Redis, prefix: str) -> RedisLink:
    return RedisLink(redis, prefix=prefix)


class Now:
    """The limits' clock, a Unix time that the test moves."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> float:
        return self.at


class NoFallback:
    """A fallback that fails the test if it is asked: Redis answers in these tests."""

    def hit(self, key: str) -> bool:
        raise AssertionError(f"the fallback was asked for {key!r} while Redis answers")


def window(link: RedisLink, now: Now, limit: int = 2, seconds: float = 60) -> RedisWindow:
    return RedisWindow(link, limit, seconds, now, fallback=NoFallback())


def test_the_limit_holds(link: RedisLink) -> None:
    now = Now()
    limit = window(link, now, limit=3)
    # Three at the very same time: each hit is a member of its own.
    assert [limit.hit("ip|192.0.2.1") for _ in range(5)] == [True, True, True, False, False]
    assert limit.hit("ip|192.0.2.2")  # another key has a count of its own
    with pytest.raises(ValueError, match="positive"):
        RedisWindow(link, 0, 60, now, fallback=limit)


def test_the_window_slides_with_the_clock(link: RedisLink) -> None:
    now = Now()
    limit = window(link, now)
    assert limit.hit("k")
    now.at += 30
    assert limit.hit("k")
    now.at += 29.5
    assert not limit.hit("k")  # both still within the last 60 s
    now.at += 0.5
    assert limit.hit("k")  # the first is exactly 60 s old: out, as in the database
    assert not limit.hit("k")
    now.at += 30
    assert limit.hit("k")


def test_a_refused_hit_is_not_counted(link: RedisLink, redis: Redis) -> None:
    now = Now()
    limit = window(link, now)
    assert limit.hit("k") and limit.hit("k")
    for _ in range(10):
        now.at += 5
        assert not limit.hit("k")
    assert redis.zcard(link.key("k")) == 2
    # Had the refused ones counted, the key would stay shut long after the first two.
    now.at = START + 60
    assert limit.hit("k") and limit.hit("k")
    assert not limit.hit("k")


def test_two_workers_share_the_count(prefix: str, redis: Redis) -> None:
    now = Now()
    # Two clients and two links, as two worker processes have.
    one, two = (
        RedisLink.from_url(REDIS_URL, prefix=prefix),
        RedisLink.from_url(REDIS_URL, prefix=prefix),
    )
    try:
        first, second = window(one, now), window(two, now)
        assert first.hit("ip|192.0.2.1") and second.hit("ip|192.0.2.1")
        assert not first.hit("ip|192.0.2.1") and not second.hit("ip|192.0.2.1")
        now.at += 60
        assert second.hit("ip|192.0.2.1")
    finally:
        one.close()
        two.close()


@pytest.mark.usefixtures("redis")  # which deletes the keys after
def test_hits_at_once_from_many_workers_are_taken_in_turn(prefix: str) -> None:
    now = Now()
    links = [RedisLink.from_url(REDIS_URL, prefix=prefix) for _ in range(8)]
    windows = [window(link, now, limit=5) for link in links]
    start = threading.Barrier(len(windows))
    taken: list[bool] = []

    def worker(limit: RedisWindow) -> None:
        start.wait()
        for _ in range(4):
            taken.append(limit.hit("ip|192.0.2.9"))

    threads = [threading.Thread(target=worker, args=(w,)) for w in windows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for link in links:
        link.close()
    assert sorted(taken) == [False] * 27 + [True] * 5


def test_keys_are_hashed_and_expire(link: RedisLink, redis: Redis, prefix: str) -> None:
    now = Now()
    limit = window(link, now, seconds=90)
    assert limit.hit("ip|192.0.2.1")
    assert limit.hit("address|someone@example.org")
    keys = sorted(key.decode() for key in redis.scan_iter(match=f"{prefix}*"))
    hashed = sorted(
        prefix + hashlib.sha256(key.encode()).hexdigest()
        for key in ("ip|192.0.2.1", "address|someone@example.org")
    )
    assert keys == hashed
    for key in keys:
        members = b" ".join(redis.zrange(key, 0, -1))
        assert b"192.0.2.1" not in members and b"someone" not in members
        # A window after the last hit, no more (Redis's own milliseconds go by meanwhile).
        assert 85_000 < redis.pttl(key) <= 90_000
    assert REDIS_PREFIX == "mailer:ratelimit:" and link.key("k").startswith(prefix)


def test_an_unreachable_redis_leaves_the_counting_to_the_database(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    now = Now()
    port = closed_port()
    url = f"redis://127.0.0.1:{port}/0"
    link = RedisLink.from_url(url, prefix="mailer-test:nobody:")
    limit = RedisWindow(link, 2, 60, now, fallback=SharedWindow(db, 2, 60, now))
    with caplog.at_level(logging.WARNING, logger="mailer.web.ratelimit"):
        answers = [limit.hit("ip|192.0.2.1") for _ in range(3)]
        now.at += ratelimit.REDIS_RETRY_SECONDS  # Redis is asked again: still not there
        answers.append(limit.hit("ip|192.0.2.1"))
    link.close()
    assert answers == [True, True, False, False]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RateLimitHit)) == 2
    # One warning for the outage, not one a hit; the URL's place, never a password.
    (warning,) = caplog.records
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith(f"Redis at 127.0.0.1:{port}/0 does not answer (")
    assert warning.getMessage().endswith(
        "the subscribe limits are counted in the database until it does"
    )


def test_redis_is_rested_after_a_failure_and_used_again_once_it_answers(
    link: RedisLink, redis: Redis, db: Database, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    now = Now()
    limit = RedisWindow(link, 2, 60, now, fallback=SharedWindow(db, 2, 60, now))
    asked = []

    def down(*args: object) -> object:
        asked.append(now.at)
        raise RedisConnectionError("Connection refused")

    with caplog.at_level(logging.INFO, logger="mailer.web.ratelimit"):
        with monkeypatch.context() as patch:
            patch.setattr(redis, "evalsha", down)
            assert limit.hit("k")  # in the database
            now.at += ratelimit.REDIS_RETRY_SECONDS - 1
            assert limit.hit("k")  # in the database, without asking Redis
            assert asked == [START]
        now.at += 1
        assert limit.hit("k")  # Redis again, which has its own count
    assert redis.zcard(link.key("k")) == 1
    where = ratelimit.redis_location(redis)
    lost, back = (record.getMessage() for record in caplog.records)
    assert lost.startswith(f"Redis at {where} does not answer (Connection refused): ")
    assert back == f"Redis at {where} answers again: the subscribe limits count there"


def test_without_redis_url_the_limits_are_the_database(db: Database) -> None:
    limits = subscribe_limits(db, 5, 3600, Now())
    assert isinstance(limits.ip, SharedWindow) and isinstance(limits.address, SharedWindow)
    limits.close()
    with_redis = subscribe_limits(db, 5, 3600, Now(), REDIS_URL)
    assert isinstance(with_redis.ip, RedisWindow) and isinstance(with_redis.address, RedisWindow)
    assert with_redis.ip.link is with_redis.address.link  # one client for both
    with_redis.close()


@pytest.mark.anyio
@pytest.mark.usefixtures("lists")
async def test_the_app_refuses_the_subscribe_after_the_limit_counted_in_redis(
    settings: Settings, db: Database, clock: Clock, outbox: list[EmailMessage], redis: Redis
) -> None:
    # A client address and email addresses of its own: test processes side by side
    # share the default prefix.
    ip = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    emails = [f"r{n}-{uuid.uuid4().hex[:8]}@example.org" for n in range(7)]
    keys = [redis_key(f"ip|{ip}")] + [
        redis_key(f"address|{address_hash(normalize_address(email).key)}") for email in emails
    ]
    with_redis = settings.model_copy(update={"redis_url": SecretStr(REDIS_URL)})
    app = create_app(with_redis, db, clock=clock, backend=lambda s: MemoryBackend(outbox, {}))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(ip, 4000))
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as web:
                answers = [(await subscribe(web, email)).status_code for email in emails[:6]]
                assert answers == [200] * 5 + [429]
                assert redis.zcard(keys[0]) == 5
                # Each address once, the one refused for its client's sake not at all.
                assert [redis.zcard(key) for key in keys[1:7]] == [1] * 5 + [0]
                clock.now += timedelta(hours=1, seconds=1)
                assert (await subscribe(web, emails[6])).status_code == 200
        with db.session() as session:  # counted in Redis, not in the database
            assert session.scalar(select(func.count()).select_from(RateLimitHit)) == 0
    finally:
        redis.delete(*keys)
    assert len(outbox) == 6
