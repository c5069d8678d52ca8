"""The batch job a ``mailer worker`` runs: one claimed batch, sent by the same
:class:`~mailer.campaigns.dispatch.BatchWorker` as in one process, so that the ledger's
rules hold on every machine.

Before a batch goes, the job reads the campaign's status (a pause or a cancel since the
batch was claimed puts its rows back, or skips them) and waits out a provider's hold
(:mod:`.throttle`). Only rows still ``sending`` are loaded: a job run again skips what
was sent already.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from mailer.campaigns import ledger
from mailer.campaigns.dispatch import BatchJob, BatchWorker
from mailer.delivery.base import Backend
from mailer.delivery.message import Outcome
from mailer.exceptions import BackendError, DatabaseUnavailable, MailerError
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from mailer.storage.retry import DatabaseRetry
from mailer.storage.types import utcnow
from mailer.workers.queue import with_shared
from mailer.workers.roster import Roster
from mailer.workers.throttle import held_off, hold_off

__all__ = ["BatchRunner"]

log = logging.getLogger("mailer")

D = DeliveryStatus


class BatchRunner:
    """Runs batch jobs on a worker's threads, each thread with a backend of its own
    (an SMTP pool is one batch's at a time)."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        backend_factory: Callable[[Settings], Backend],
        roster: Roster,
        *,
        retry: DatabaseRetry,
        stop: threading.Event,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.database = database
        self.settings = settings
        self.backend_factory = backend_factory
        self.roster = roster
        self.retry = retry
        self.stop = stop
        self.clock = clock
        self._local = threading.local()
        self._backends: list[Backend] = []
        self._lock = threading.Lock()

    def worker(self, carried: dict[str, Any]) -> BatchWorker:
        """This thread's worker for the settings a job carried (one per set: a
        campaign's jobs all carry the same)."""
        key = orjson.dumps(carried, option=orjson.OPT_SORT_KEYS)
        workers: dict[bytes, BatchWorker] = self._local.__dict__.setdefault("workers", {})
        worker = workers.get(key)
        if worker is None:
            settings = with_shared(self.settings, carried)
            backend = self.backend_factory(settings)
            backend.on_throttled = self._throttled(backend.name)
            try:
                backend.open()
            except BackendError:
                backend.close()
                raise
            with self._lock:
                self._backends.append(backend)
            worker = BatchWorker(
                self.database, settings, backend, clock=self.clock, retry=self.retry
            )
            workers[key] = worker
        return worker

    def run(self, job: BatchJob, carried: dict[str, Any]) -> None:
        """Send ``job``'s rows still in flight. A refusal for now (rows put back for a
        retry) ends the job well; one for good fails it, and the sender then stops the
        campaign."""
        status = self.retry(lambda: self._status(job.campaign_id))
        if status is not CampaignStatus.SENDING:
            self.retry(lambda: self._give_back(job, status))
            return
        try:
            worker = self.worker(carried)
        except BackendError as err:
            if not err.retryable:
                self.retry(lambda: self._give_back(job, CampaignStatus.PAUSED))
                raise
            # The server is out of reach from here for now: the rows wait their first
            # retry's delay, as when a batch is refused for now.
            log.warning("campaign %s: %s; the batch waits for a retry", job.campaign_id, err)
            error = str(err)
            self.retry(lambda: self._later(job, error))
            return
        except MailerError:
            # This worker cannot make the messages (no DKIM key, a backend setting):
            # nothing went out, the rows wait, and the failed job stops the campaign.
            self.retry(lambda: self._give_back(job, CampaignStatus.PAUSED))
            raise
        self._wait_out(worker.backend.name)
        self.roster.taking(job.campaign_id)
        sent = 0
        try:
            report = worker.run(job)
            sent = report.outcomes.get(Outcome.SENT, 0)
        except BackendError as err:
            if not err.retryable:
                raise
            log.warning("campaign %s: batch put back for a retry: %s", job.campaign_id, err)
        except DatabaseUnavailable as err:
            # Only when asked to stop with the database gone: what this batch handed
            # over cannot be written, and its rows show as unknown, as after a crash.
            log.warning("campaign %s: stopping before the batch's outcomes could be "
                        "written (%s); its rows show as unknown", job.campaign_id, err)  # fmt: skip
        finally:
            self.roster.done(job.campaign_id, sent)

    def _status(self, campaign_id: int) -> CampaignStatus:
        with self.database.engine.begin() as conn:
            status = conn.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        return CampaignStatus(status) if status is not None else CampaignStatus.CANCELLED

    def _give_back(self, job: BatchJob, status: CampaignStatus) -> None:
        """The campaign stopped after the batch was claimed: a cancelled one's rows are
        skipped, any other's go back to wait (nothing of theirs was handed over)."""
        with self.database.engine.begin() as conn:
            if status is CampaignStatus.CANCELLED:
                ledger.move_ids(
                    conn, job.delivery_ids, D.SENDING, status=D.SKIPPED, error="campaign cancelled"
                )
            else:
                ledger.move_ids(
                    conn,
                    job.delivery_ids,
                    D.SENDING,
                    status=D.PENDING,
                    attempts=Delivery.attempts - 1,
                )

    def _later(self, job: BatchJob, error: str) -> None:
        with self.database.engine.begin() as conn:
            ledger.move_ids(
                conn,
                job.delivery_ids,
                D.SENDING,
                status=D.PENDING,
                attempts=Delivery.attempts - 1,
                next_attempt_at=self.clock() + ledger.RETRY_DELAYS[0],
                error=error,
            )

    def _wait_out(self, backend: str) -> None:
        """Wait while a provider holds every worker off (a 429 anywhere)."""
        while not self.stop.is_set():
            seconds = self.retry(lambda: self._held_off(backend))
            if seconds <= 0:
                return
            self.stop.wait(min(seconds, 5.0))

    def _held_off(self, backend: str) -> float:
        with self.database.engine.begin() as conn:
            return held_off(conn, backend, self.clock())

    def _throttled(self, backend: str) -> Callable[[float, str], None]:
        def hold(seconds: float, reason: str) -> None:
            def write() -> None:
                with self.database.engine.begin() as conn:
                    hold_off(conn, backend, seconds, reason, self.clock())

            self.retry(write)
            log.warning("%s; every worker holds off for %.0f s", reason, seconds)

        return hold

    def close(self) -> None:
        with self._lock:
            for backend in self._backends:
                backend.close()
            self._backends.clear()
