"""A sending pace: messages per second and per hour, as two token buckets.

The caller takes tokens before it claims a batch, and claims no more than it took::

    limiter = RateLimiter.from_settings(settings)
    size = min(batch_size, limiter.largest_batch)
    limiter.acquire(size)           # or wait for limiter.reserve(size) its own way
    claimed = claim(size)
    limiter.refund(size - len(claimed))
    results = backend.send_batch(...)   # a batch goes out at the backend's own speed

Each bucket holds a burst (a second's worth of the per-second rate, a minute's worth of
the per-hour one) and refills at its rate. A batch is never larger than the smallest
burst (:attr:`RateLimiter.largest_batch`), so over any span of ``t`` seconds at most
``burst + rate * t`` messages go out: at 40 a second, batches of 40 a second apart, not
500 at once and then twelve seconds of nothing. Taking more than a bucket holds is
allowed: the bucket goes into debt and the call waits until it is paid off. Waiting is
done outside the lock, in the order the calls came in, so threads can share one limiter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailer.settings import Settings

__all__ = ["RateLimiter", "TokenBucket"]


class TokenBucket:
    """``capacity`` tokens at most, refilled at ``rate`` per second; starts full."""

    def __init__(self, rate: float, capacity: float, now: float):
        if rate <= 0 or capacity <= 0:
            raise ValueError("a token bucket needs a positive rate and capacity")
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self._updated = now

    def take(self, count: float, now: float) -> float:
        """Take ``count`` tokens at ``now``; the seconds until the bucket is out of debt
        (0 when there were tokens enough)."""
        elapsed = max(now - self._updated, 0.0)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self._updated = now
        self.tokens -= count
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """At most ``per_second`` messages a second and ``per_hour`` an hour (either may
    be None: no limit). ``clock`` is monotonic seconds, ``sleep`` waits; tests pass
    their own."""

    def __init__(
        self,
        per_second: float | None = None,
        per_hour: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.clock = clock
        self.sleep = sleep
        now = clock()
        self._buckets = []
        if per_second is not None:
            self._buckets.append(TokenBucket(per_second, max(per_second, 1.0), now))
        if per_hour is not None:
            self._buckets.append(TokenBucket(per_hour / 3600, max(per_hour / 60, 1.0), now))
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter | None:
        """The limiter of ``rate_per_second`` and ``rate_per_hour``; None if neither is set."""
        if settings.rate_per_second is None and settings.rate_per_hour is None:
            return None
        return cls(settings.rate_per_second, settings.rate_per_hour)

    @property
    def largest_batch(self) -> int:
        """The most messages one batch may hold for the pace to hold: the smallest
        bucket's burst (a very large number when nothing is limited)."""
        return int(min((bucket.capacity for bucket in self._buckets), default=1 << 62))

    def reserve(self, count: int) -> float:
        """Take ``count`` tokens now; the seconds to wait before the messages may go."""
        if count <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            return max((bucket.take(count, now) for bucket in self._buckets), default=0.0)

    def refund(self, count: int) -> None:
        """Give back ``count`` tokens taken for messages that will not go (a batch
        claimed smaller than reserved, or a send stopped while it waited)."""
        if count <= 0:
            return
        with self._lock:
            for bucket in self._buckets:
                bucket.tokens = min(bucket.capacity, bucket.tokens + count)

    def acquire(self, count: int = 1) -> float:
        """Wait until ``count`` more messages may go; returns the seconds waited."""
        wait = self.reserve(count)
        if wait > 0:
            self.sleep(wait)
        return wait
