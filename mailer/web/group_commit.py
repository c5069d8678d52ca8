"""Durable writes grouped: the work of requests that arrive together, in one commit.

An unsubscribe must be stored before its answer, and on SQLite every commit waits for
the file's one write lock and an fsync. :class:`GroupCommit` runs the work of every
request waiting in one transaction on a thread of its own and answers each caller once
that transaction has committed: as durable as a commit each, for one fsync a group.

If one piece of work raises, the group is rolled back and each piece run again alone,
so that one bad request costs the others nothing but the time: the work must be a
function of the session that may be run twice (what is rolled back leaves no trace).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from mailer.storage.database import Database

__all__ = ["GroupCommit"]

T = TypeVar("T")


class _Job(Generic[T]):
    def __init__(self, work: Callable[[Session], T]):
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


class GroupCommit:
    """Runs ``work(session)`` for callers on many threads, ``max_group`` at a time in one
    transaction of ``database``; ``run`` returns once its work is committed."""

    def __init__(self, database: Database, *, max_group: int = 200):
        self.database = database
        self.max_group = max_group
        self._pending: list[_Job[Any]] = []
        self._closing = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def run(self, work: Callable[[Session], T]) -> T:
        """``work``'s result once it is committed; raises what it (or the commit) raised."""
        job = _Job(work)
        with self._cond:
            if self._closing:
                self._alone(job)
            else:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="group", daemon=True)
                    self._thread.start()
                self._pending.append(job)
                self._cond.notify_all()
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def close(self) -> None:
        """Run what is waiting and stop the thread (the app's shutdown)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closing)
                if not self._pending:
                    return
                group = self._pending[: self.max_group]
                del self._pending[: self.max_group]
            self._together(group)

    def _together(self, group: list[_Job[Any]]) -> None:
        results: list[Any] = []
        try:
            with self.database.session() as session:
                for job in group:
                    results.append(job.work(session))
        except BaseException:
            # Which one failed, and whether the commit did, each alone tells.
            for job in group:
                self._alone(job)
            return
        for job, result in zip(group, results, strict=True):
            job.result = result
            job.done.set()

    def _alone(self, job: _Job[Any]) -> None:
        try:
            with self.database.session() as session:
                job.result = job.work(session)
        except BaseException as err:
            job.error = err
        finally:
            job.done.set()
