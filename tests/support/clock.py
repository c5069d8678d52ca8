"""A clock that tests move, and an executor that runs at once: time and threads in the
tests never depend on waiting."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Clock:
    """Now, moved on by ``sleep`` and by tests, never by waiting."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    slept: float = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """Moves on by ``seconds`` at once, in one step: in a test nothing happens while
        time jumps, so a wait that ``until`` may end is ended only by what was true before
        it (a pause the test made), never wakes up every few seconds on the way."""
        if until is not None and until():
            return
        self.slept += seconds
        self.now += timedelta(seconds=seconds)

    def seconds(self) -> float:
        """Now as seconds, for what takes a monotonic clock (a RateLimiter)."""
        return self.now.timestamp()


class InlineExecutor(Executor):
    """Runs what is submitted at once, in the caller's thread: no waiting in tests."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # the future carries it, as a pool's would
            future.set_exception(err)
        return future
