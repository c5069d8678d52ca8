"""Durable writes grouped: the requests that arrive together, in one commit.

An unsubscribe must be stored before its answer, and every commit costs the database's
write lock (SQLite's one for the whole file) and an fsync. :class:`GroupCommit` takes
the items of every request waiting, hands them together to one ``work(session, items)``
in one transaction on a thread of its own, and answers each caller once that
transaction has committed: as durable as a commit each, for one commit a group, and
with set-based statements the work of a group costs about what one item's did.

If the group's work raises, it is rolled back and each item run again alone, so that
one bad request costs the others nothing but the time: the work must be a function of
the session that may be run twice (what is rolled back leaves no trace).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from mailer.storage.database import Database

__all__ = ["GroupCommit"]

I = TypeVar("I")  # noqa: E741 (an item)
R = TypeVar("R")


class _Job(Generic[I, R]):
    """One caller's item and how it is answered: a thread waits on an event, a
    coroutine on a future of its loop."""

    def __init__(self, item: I, loop: asyncio.AbstractEventLoop | None = None):
        self.item = item
        self.result: R | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop else None

    def finish(self, result: R | None, error: BaseException | None) -> None:
        """Set the answer and wake a waiting thread (a coroutine is woken by _wake)."""
        self.result, self.error = result, error
        self.done.set()

    def answer(self) -> R:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


def _wake(jobs: Sequence[_Job[Any, Any]]) -> None:
    """Wake the coroutines waiting for ``jobs``: one call into each event loop for all
    of its own (each call wakes the loop from its wait)."""
    futures: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for job in jobs:
        if job.loop is not None and job.future is not None:
            futures.setdefault(job.loop, []).append(job.future)
    for loop, waiting in futures.items():
        # Its loop closed: nobody waits any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, waiting)


def _settle(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():  # not given up by a cancelled request
            future.set_result(None)


class GroupCommit(Generic[I, R]):
    """Runs ``work(session, items)`` (one result per item, in order) for callers on
    many threads and coroutines, ``max_group`` items at a time in one transaction of
    ``database``; ``run`` and ``arun`` return once their item is committed."""

    def __init__(
        self,
        database: Database,
        work: Callable[[Session, Sequence[I]], Sequence[R]],
        *,
        max_group: int = 500,
    ):
        self.database = database
        self.work = work
        self.max_group = max_group
        self._pending: list[_Job[I, R]] = []
        self._closing = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def run(self, item: I) -> R:
        """``item``'s result once it is committed; raises what its work (or the commit)
        raised."""
        job: _Job[I, R] = _Job(item)
        if not self._queue(job):
            self._alone(job)
        job.done.wait()
        return job.answer()

    async def arun(self, item: I) -> R:
        """``run`` for a coroutine: the event loop goes on serving while it waits."""
        job: _Job[I, R] = _Job(item, asyncio.get_running_loop())
        if not self._queue(job):
            await run_in_threadpool(self._alone, job)
        assert job.future is not None
        await job.future
        return job.answer()

    def close(self) -> None:
        """Run what is waiting and stop the thread (the app's shutdown)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _queue(self, job: _Job[I, R]) -> bool:
        """Whether ``job`` waits for a group (not once closing: then it runs alone)."""
        with self._cond:
            if self._closing:
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="group", daemon=True)
                self._thread.start()
            self._pending.append(job)
            self._cond.notify_all()
            return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closing)
                if not self._pending:
                    return
                group = self._pending[: self.max_group]
                del self._pending[: self.max_group]
            self._together(group)

    def _together(self, group: list[_Job[I, R]]) -> None:
        try:
            with self.database.writing() as session:
                results = list(self.work(session, [job.item for job in group]))
        except BaseException:
            # Which one failed, and whether the commit did, each alone tells.
            for job in group:
                self._alone(job)
            return
        for job, result in zip(group, results, strict=True):
            job.finish(result, None)
        _wake(group)

    def _alone(self, job: _Job[I, R]) -> None:
        try:
            with self.database.writing() as session:
                (result,) = self.work(session, [job.item])
        except BaseException as err:
            job.finish(None, err)
        else:
            job.finish(result, None)
        _wake([job])
