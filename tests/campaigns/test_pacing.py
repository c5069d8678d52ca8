"""Pacing (campaigns/pacing.py): the token buckets that hold a campaign to its rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.campaigns.pacing import RateLimiter
from tests.support.config import make_settings


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_burst_of_a_second_goes_at_once_then_the_rate_holds() -> None:
    time = FakeTime()
    limiter = RateLimiter(per_second=10, clock=time.clock, sleep=time.sleep)
    for _ in range(10):
        assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(0.1)
    assert limiter.acquire(5) == pytest.approx(0.5)
    assert time.sleeps == pytest.approx([0.1, 0.5])


def test_taking_more_than_the_bucket_holds_waits_for_the_debt() -> None:
    time = FakeTime()
    limiter = RateLimiter(per_second=100, clock=time.clock, sleep=time.sleep)
    assert limiter.acquire(1000) == pytest.approx(9.0)  # 100 in the bucket, 900 more at 100/s
    # The sleep paid the debt off exactly: the next 100 wait a second again.
    assert limiter.acquire(100) == pytest.approx(1.0)


def test_the_hourly_limit_allows_a_minutes_worth_at_once() -> None:
    time = FakeTime()
    limiter = RateLimiter(per_hour=3600, clock=time.clock, sleep=time.sleep)
    assert limiter.acquire(60) == 0
    assert limiter.acquire(1) == pytest.approx(1.0)
    # Over an hour at most the burst plus the hour's rate.
    time.sleeps.clear()
    sent = 0
    start = time.now
    while time.now - start < 3600:
        limiter.acquire(10)
        sent += 10
    assert sent <= 3600 + 60 + 10


def test_both_limits_apply_and_the_longer_wait_wins() -> None:
    time = FakeTime()
    limiter = RateLimiter(per_second=1000, per_hour=36_000, clock=time.clock, sleep=time.sleep)
    assert limiter.acquire(600) == 0  # a minute's worth of the hour, within a second's 1000
    assert limiter.acquire(10) == pytest.approx(1.0)  # 10 more at 10/s


def test_no_limit_never_waits() -> None:
    time = FakeTime()
    limiter = RateLimiter(clock=time.clock, sleep=time.sleep)
    assert limiter.acquire(1_000_000) == 0
    assert limiter.acquire(0) == 0
    assert time.sleeps == []


def test_from_settings(tmp_path: Path) -> None:
    assert RateLimiter.from_settings(make_settings(tmp_path)) is None
    limiter = RateLimiter.from_settings(make_settings(tmp_path, rate_per_second=14))
    assert limiter is not None


def test_the_largest_batch_is_the_smallest_burst_and_unused_tokens_come_back() -> None:
    time = FakeTime()
    assert RateLimiter(clock=time.clock).largest_batch > 10**15  # nothing limited
    assert RateLimiter(per_second=40, clock=time.clock).largest_batch == 40
    assert RateLimiter(per_hour=600, clock=time.clock).largest_batch == 10  # a minute's
    limiter = RateLimiter(per_second=0.5, per_hour=36_000, clock=time.clock, sleep=time.sleep)
    assert limiter.largest_batch == 1  # a burst is one message at least
    assert limiter.reserve(1) == 0
    assert limiter.reserve(1) == pytest.approx(2.0)
    limiter.refund(1)  # that message did not go after all
    assert limiter.reserve(1) == pytest.approx(2.0)
