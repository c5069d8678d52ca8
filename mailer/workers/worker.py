"""``mailer worker``'s loop: a procrastinate worker on the batch queue, its own row in
``send_workers``, and a start again after the database was lost.

procrastinate stops a worker whose heartbeat cannot be written (the database went
away); the loop here waits and starts it again, so a worker rides out a restarted
server. A batch in hand when the database goes keeps its outcomes until it can write
them (:class:`~mailer.storage.retry.DatabaseRetry` without a limit), as ``mailer run``
does. SIGTERM or Ctrl-C: the batches in hand are finished, then the worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from sqlalchemy.exc import DBAPIError

from mailer.campaigns.dispatch import BatchJob
from mailer.campaigns.sender import worker_name
from mailer.delivery.backends import get_backend
from mailer.delivery.base import Backend
from mailer.exceptions import ConfigError
from mailer.settings import Settings
from mailer.signals import set_from_handler
from mailer.storage.database import Database, current_revision, head_revision
from mailer.storage.retry import DatabaseRetry, cause, lost
from mailer.workers.job import BatchRunner
from mailer.workers.queue import QUEUE, TASK, make_app
from mailer.workers.roster import Roster

__all__ = ["Worker"]

log = logging.getLogger("mailer")

#: Seconds between starts of procrastinate's worker while the database is lost.
RESTART_AFTER = 1.0
#: How often, in seconds, the event loop looks whether a stop was asked for.
STOP_CHECK_EVERY = 0.2


class Worker:
    """One ``mailer worker`` process: ``concurrency`` batches at once."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        concurrency: int = 1,
        backend_factory: Callable[[Settings], Backend] = get_backend,
    ):
        self.settings = settings
        self.database = database
        self.concurrency = concurrency
        self.name = worker_name()
        self.stop_event = threading.Event()
        self.roster = Roster(database, self.name, concurrency)
        retry = DatabaseRetry(
            math.inf,
            sleep=self._pause,
            stop=self.stop_event,
            on_lost=lambda why: log.warning("the database is out of reach (%s); waiting", why),
            on_back=lambda: log.info("the database answers again"),
        )
        self.runner = BatchRunner(
            database, settings, backend_factory, self.roster, retry=retry, stop=self.stop_event
        )
        self.app = make_app(settings)
        runner = self.runner

        @self.app.task(name=TASK, queue=QUEUE)
        def send_batch(campaign_id: int, delivery_ids: list[int], settings: dict[str, Any]) -> None:
            runner.run(BatchJob(campaign_id, tuple(delivery_ids)), settings)

    def _pause(self, seconds: float) -> None:
        self.stop_event.wait(seconds)

    @property
    def beat_seconds(self) -> float:
        return self.settings.worker_stalled_seconds / 3

    def check_schema(self) -> None:
        """The database must be at the newest schema: a worker does not migrate it (the
        leader's machine does, with ``mailer db upgrade``)."""
        if current_revision(self.database.engine) != head_revision():
            raise ConfigError(
                "the database's schema is not the newest; run `mailer db upgrade` first",
                key="database_url",
            )

    def run(self, *, handle_signals: bool = True) -> None:
        """Take batches until SIGTERM or SIGINT (or :meth:`stop`)."""
        self.check_schema()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self.ask)
        beats = threading.Thread(target=self._beat, name="roster", daemon=True)
        beats.start()
        log.info("worker %s: %d at once, on queue %s", self.name, self.concurrency, QUEUE)
        try:
            while not self.stop_event.is_set():
                try:
                    asyncio.run(self._serve())
                except Exception as err:  # procrastinate's ConnectorException, psycopg's
                    if self.stop_event.is_set():
                        break
                    log.warning("the job queue is out of reach (%s); starting again", cause(err))
                if not self.stop_event.is_set():
                    self.stop_event.wait(RESTART_AFTER)
        finally:
            self.stop_event.set()
            beats.join()
            self.runner.close()
            with contextlib.suppress(DBAPIError):
                self.roster.remove()
            log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        self.stop_event.set()

    async def _serve(self) -> None:
        async with self.app.open_async():
            work = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=self.concurrency,
                    name=self.name,
                    update_heartbeat_interval=self.beat_seconds,
                    stalled_worker_timeout=self.settings.worker_stalled_seconds,
                    install_signal_handlers=False,
                    delete_jobs="successful",
                )
            )
            stopped = asyncio.create_task(self._until_stopped())
            done, _ = await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if work in done:
                stopped.cancel()
                work.result()  # procrastinate stopped by itself: raises why, if it says
                return
            work.cancel()  # procrastinate finishes the jobs in hand first
            with contextlib.suppress(asyncio.CancelledError):
                await work

    async def _until_stopped(self) -> None:
        while not self.stop_event.is_set():
            await asyncio.sleep(STOP_CHECK_EVERY)

    def ask(self, signum: int, frame: FrameType | None) -> None:
        """A signal handler: finish the batches in hand, then stop."""
        if not self.stop_event.is_set():
            log.info("%s: finishing the batches in hand, then stopping",
                     signal.Signals(signum).name)  # fmt: skip
        set_from_handler(self.stop_event)

    def _beat(self) -> None:
        lost_said = False
        while True:
            try:
                self.roster.write()
                lost_said = False
            except DBAPIError as err:
                if not lost(err):
                    raise
                if not lost_said:
                    log.warning(
                        "cannot write this worker's row: the database is out of reach (%s)",
                        cause(err),
                    )
                    lost_said = True
            if self.stop_event.wait(self.beat_seconds):
                return
