"""Sliding-window rate limits: at most ``limit`` hits per key in any ``window`` seconds.

:class:`SharedWindow` counts in the database, so that every web worker process sees
every hit (the subscribe limits); :class:`SlidingWindow` counts in the process, for
what one process alone must limit."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from mailer.storage.database import Database
from mailer.storage.rate_limits import take_hit

__all__ = ["RateLimit", "SharedWindow", "SlidingWindow"]


class RateLimit(Protocol):
    def hit(self, key: str) -> bool:
        """Count a hit for ``key``; False (and not counted) if it is over the limit."""
        ...


class SharedWindow:
    """Counts hits per key over the last ``window`` seconds of ``clock`` (a Unix time)
    in ``database``: each hit is one short transaction of its own, committed before the
    request goes on."""

    def __init__(self, database: Database, limit: int, window: float, clock: Callable[[], float]):
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs a positive limit and window")
        self.database = database
        self.limit = limit
        self.window = window
        self.clock = clock

    def hit(self, key: str) -> bool:
        with self.database.session() as session:
            return take_hit(session, key, self.limit, self.window, self.clock())


class SlidingWindow:
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
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs a positive limit and window")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count a hit for ``key``; False (and not counted) if it is over the limit."""
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
