"""Riding out a lost database.

A restarted PostgreSQL server, a connection it dropped, or a SQLite file that another
process keeps locked makes a statement fail, while the same transaction run again a
little later succeeds. :class:`DatabaseRetry` runs a transaction again, with backoff
(tenacity), for a window counted from when the database was lost, not from each call:
once the window has passed, every call gets one try until the database answers again,
so that a sender with several things to write gives up once, not once for each.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from mailer.exceptions import DatabaseUnavailable

if TYPE_CHECKING:
    # Imported where work is retried: every command imports this module, few retry.
    import tenacity

__all__ = ["DatabaseRetry", "cause", "lost"]

T = TypeVar("T")


def lost(err: BaseException) -> bool:
    """Whether ``err`` says the database is out of reach for now (and the same work
    may succeed later), not that the work itself is wrong."""
    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    if not isinstance(err, OperationalError):
        return False
    if isinstance(err.orig, sqlite3.Error):
        # SQLite says OperationalError for a missing table too; that one stays wrong.
        message = str(err.orig)
        return "locked" in message or "busy" in message or "unable to open" in message
    # psycopg: the server shut down, refused or dropped the connection.
    return True


def cause(err: BaseException) -> str:
    """The driver's message in one line, without SQLAlchemy's statement and link."""
    orig = err.orig if isinstance(err, DBAPIError) else err
    lines = str(orig).strip().splitlines()
    return lines[0].strip() if lines else type(orig).__name__


class DatabaseRetry:
    """Runs a unit of work (a whole transaction: it must be safe to run again) until it
    succeeds, or until the database has been lost for ``seconds``; then raises
    DatabaseUnavailable. ``seconds`` may be ``math.inf``: a daemon waits for as long
    as it takes, until ``stop`` is set. ``sleep`` and ``clock`` (monotonic seconds) are
    injectable, so that tests wait for nothing. ``on_lost`` is told the cause once
    when the database is lost, ``on_back`` once when it answers again."""

    def __init__(
        self,
        seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
        on_lost: Callable[[str], None] | None = None,
        on_back: Callable[[], None] | None = None,
    ):
        self.seconds = seconds
        self.sleep = sleep
        self.clock = clock
        self.stop = stop
        self.on_lost = on_lost
        self.on_back = on_back
        self._lost_at: float | None = None
        self._lock = threading.Lock()

    @property
    def is_lost(self) -> bool:
        """Whether the last work found the database out of reach."""
        return self._lost_at is not None

    def __call__(self, work: Callable[[], T]) -> T:
        import tenacity

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lost),
            stop=self._given_up,
            # From a quarter of a second up to five between tries.
            wait=tenacity.wait_exponential(multiplier=0.25, max=5),
            sleep=self.sleep,
            after=self._failed,
            reraise=True,
        )
        try:
            result = retrying(work)
        except DBAPIError as err:
            if not lost(err):
                raise
            raise DatabaseUnavailable(cause(err), self._elapsed()) from err
        self._answered()
        return result

    def _given_up(self, state: tenacity.RetryCallState) -> bool:
        if self.stop is not None and self.stop.is_set():
            return True
        return self._elapsed() >= self.seconds

    def _elapsed(self) -> float:
        lost_at = self._lost_at
        return 0.0 if lost_at is None else max(self.clock() - lost_at, 0.0)

    def _failed(self, state: tenacity.RetryCallState) -> None:
        with self._lock:
            if self._lost_at is not None:
                return
            self._lost_at = self.clock()
        if self.on_lost is not None and state.outcome is not None:
            self.on_lost(cause(state.outcome.exception() or RuntimeError()))

    def _answered(self) -> None:
        with self._lock:
            was_lost, self._lost_at = self._lost_at is not None, None
        if was_lost and self.on_back is not None:
            self.on_back()
