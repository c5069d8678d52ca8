"""The sender's side of sending through workers: each batch claimed is deferred as a
procrastinate job in the claim's own transaction, and what came of it is read back from
the ledger, whoever sent it.

A job whose worker fell silent (procrastinate's heartbeat of the worker is older than
``worker_stalled_seconds``, or the worker was pruned) may or may not have handed its
messages over: its rows still ``sending`` become ``unknown``, as after a crash of one
process, and the job is marked failed so that no one runs it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select, text

from mailer.campaigns import ledger
from mailer.campaigns.dispatch import BatchJob, BatchReport, Dispatcher
from mailer.delivery.message import Outcome
from mailer.exceptions import BackendError
from mailer.settings import Settings
from mailer.storage.bulk import in_values
from mailer.storage.database import Database
from mailer.storage.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from mailer.storage.retry import DatabaseRetry
from mailer.workers.queue import QUEUE, TASK, make_app, shared

if TYPE_CHECKING:
    import procrastinate

__all__ = ["STALLED_ERROR", "QueueDispatcher"]

log = logging.getLogger("mailer")

D = DeliveryStatus
STALLED_ERROR = "in flight when its worker fell silent"
#: Seconds before the first look at a batch deferred.
FIRST_LOOK = 0.05
#: Seconds a running job whose rows all have their outcome is given to end by itself.
WRITTEN_SETTLES = 2.0

#: The job, and whether the worker running it has been silent too long.
_JOB = text(
    """
SELECT job.status::text AS status, job.worker_id,
       worker.id IS NULL AS orphaned,
       worker.last_heartbeat < NOW() - make_interval(secs => :silent) AS silent
  FROM procrastinate_jobs job
  LEFT JOIN procrastinate_workers worker ON worker.id = job.worker_id
 WHERE job.id = :id
"""
)
_WAITING = text(
    """
SELECT id, ARRAY(SELECT jsonb_array_elements_text(args->'delivery_ids')::bigint)
  FROM procrastinate_jobs
 WHERE queue_name = :queue AND status = 'todo' AND (args->>'campaign_id')::bigint = :campaign
   FOR UPDATE SKIP LOCKED
"""
)
_ALIVE = text(
    "SELECT count(*) FROM procrastinate_workers "
    "WHERE last_heartbeat >= NOW() - make_interval(secs => :silent)"
)
# Only a job still running: its worker may have ended it meanwhile after all.
_DONE = text(
    "SELECT procrastinate_finish_job_v1(id, 'succeeded', true) FROM procrastinate_jobs "
    "WHERE id = :id AND status = 'doing' FOR UPDATE"
)
_FAIL = text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)")
_CANCEL = text("SELECT procrastinate_cancel_job_v1(:id, false, false)")

#: What a ledger row's status says of its message, for the report.
_OUTCOMES = {D.SENT: Outcome.SENT, D.FAILED: Outcome.FAILED, D.UNKNOWN: Outcome.UNKNOWN}


class QueueDispatcher(Dispatcher):
    """Dispatches through procrastinate to ``mailer worker`` processes. A batch in
    flight is looked at soon after it is deferred, then less and less often, at least
    every ``poll`` seconds: eight batches in flight cost the database little."""

    in_flight = 8

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        retry: DatabaseRetry | None = None,
        stop: threading.Event | None = None,
        poll: float = 0.5,
        settles: float = WRITTEN_SETTLES,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.database = database
        self.settings = settings
        self.retry = retry or DatabaseRetry(settings.database_retry_seconds)
        self.stop = stop or threading.Event()
        self.poll = poll
        self.settles = settles
        self.monotonic = monotonic
        self.app: procrastinate.App = make_app(settings)
        self._shared = shared(settings)
        self._jobs: dict[tuple[int, ...], int] = {}
        self._lock = threading.Lock()
        self._told_idle = False

    def claimed(self, conn: Connection, job: BatchJob) -> None:
        # procrastinate writes the job on the connection given, inside our transaction.
        raw = conn.connection.driver_connection
        deferred = self.app.configure_task(TASK, queue=QUEUE, connection=raw).defer(
            campaign_id=job.campaign_id, delivery_ids=list(job.delivery_ids), settings=self._shared
        )
        with self._lock:
            self._jobs[job.delivery_ids] = deferred

    def recovering(self, conn: Connection, campaign_id: int) -> None:
        # The jobs a dead sender deferred that no worker took: nothing of theirs went
        # out, so their rows wait again instead of becoming unknown. (Taken ones run on;
        # their rows become unknown, and what the worker sends of them it records.)
        waiting = conn.execute(_WAITING, {"queue": QUEUE, "campaign": campaign_id}).all()
        for job_id, delivery_ids in waiting:
            job = BatchJob(campaign_id, tuple(delivery_ids))
            self._call_off(conn, job, job_id, CampaignStatus.SENDING)

    def dispatch(self, job: BatchJob) -> BatchReport:
        with self._lock:
            job_id = self._jobs.pop(job.delivery_ids)
        if self._wait_for(job, job_id) == "failed":
            raise BackendError(
                "worker",
                f"job {job_id} (campaign {job.campaign_id}) failed for good on its worker; "
                "the worker's log says why",
            )
        return self.retry(lambda: self._report(job))

    def _wait_for(self, job: BatchJob, job_id: int) -> str | None:
        """How the job ended; None if it was called off (a pause, a stop)."""
        started = checked = self.monotonic()
        seen: dict[str, float] = {}  # when a lasting verdict was first seen
        delay = FIRST_LOOK
        while True:
            verdict = self._lasting(job, job_id, self.retry(lambda: self._look(job, job_id)), seen)
            if verdict is not None:
                return verdict
            if self._pause(job, job_id, delay):
                return None
            delay = min(delay * 1.5, self.poll)
            if self.monotonic() - checked >= 1.0:
                checked = self.monotonic()
                if self.retry(lambda: self._stopped(job, job_id)):
                    return None
                if checked - started >= self.settings.worker_stalled_seconds:
                    self.retry(self._tell_if_no_worker)

    def _lasting(
        self, job: BatchJob, job_id: int, verdict: str | None, seen: dict[str, float]
    ) -> str | None:
        """The job's end, from what :meth:`_look` saw; "written" and "orphaned" end it
        only once they have lasted."""
        if verdict not in ("written", "orphaned"):
            return verdict
        lasted = self.monotonic() - seen.setdefault(verdict, self.monotonic())
        if verdict == "written" and lasted >= self.settles:
            # The worker wrote every row's outcome, and its job still runs: it ends in
            # a moment, or its end was lost with the database. The ledger is what
            # counts; a failure flips the job's status first, so it is given time to.
            self.retry(lambda: self._close_job(job_id))
            return "succeeded"
        if verdict == "orphaned" and lasted >= self.settings.worker_stalled_seconds:
            self.retry(lambda: self._give_up_orphan(job, job_id))
            return "stalled"
        return None

    def _give_up(self, conn: Connection, job: BatchJob, job_id: int) -> None:
        """A silent worker's job ends here: its rows in flight become unknown."""
        conn.execute(_FAIL, {"id": job_id})
        ledger.move_ids(conn, job.delivery_ids, D.SENDING, status=D.UNKNOWN,
                        error=STALLED_ERROR)  # fmt: skip

    def _give_up_orphan(self, job: BatchJob, job_id: int) -> None:
        with self.database.engine.begin() as conn:
            self._give_up(conn, job, job_id)

    def _close_job(self, job_id: int) -> None:
        """End a job whose worker could not say it ended (procrastinate's way, as the
        worker would have): a job left running for ever would look stalled to anyone who
        looks at the queue."""
        with self.database.engine.begin() as conn:
            conn.execute(_DONE, {"id": job_id})

    def _pause(self, job: BatchJob, job_id: int, delay: float) -> bool:
        """Wait one poll; True if a stop called the job off. A stop ends the wait only
        for a job no worker took: a job taken ends soon, and its outcome is counted."""
        if self.stop.is_set():
            if self.retry(lambda: self._cancel(job, job_id)):
                return True
            threading.Event().wait(delay)
        else:
            self.stop.wait(delay)
        return False

    def _tell_if_no_worker(self) -> None:
        """Say once that batches wait and no worker is alive to take them."""
        if self._told_idle:
            return
        with self.database.engine.begin() as conn:
            alive = conn.execute(_ALIVE, {"silent": self.settings.worker_stalled_seconds}).scalar()
        if not alive:
            self._told_idle = True
            log.warning(
                "batches wait on the queue and no mailer worker is alive to take them: "
                "start one (mailer worker), see them with mailer workers ls"
            )

    def _look(self, job: BatchJob, job_id: int) -> str | None:
        """None while the job is waiting or running; "written" while it runs with every
        row's outcome written; else how it ended (a silent worker's job ends here, its
        rows in flight unknown)."""
        with self.database.engine.begin() as conn:
            row = conn.execute(
                _JOB, {"id": job_id, "silent": self.settings.worker_stalled_seconds}
            ).first()
            if row is None:
                return "succeeded"  # deleted once done
            if row.status == "doing" and row.silent:
                self._give_up(conn, job, job_id)
                return "stalled"
            if row.status == "doing":
                in_flight = conn.scalar(
                    select(func.count()).where(
                        in_values(conn, Delivery.id, list(job.delivery_ids)),
                        Delivery.status == D.SENDING,
                    )
                )
                if not in_flight:
                    return "written"
                # No worker row: procrastinate's worker ended (pruned, or started again
                # after the database was lost) while our thread may still hold the batch
                # and write its outcomes. Given up on only after a silence as long.
                return "orphaned" if row.orphaned else None
            if row.status == "todo":
                return None
            return str(row.status)

    def _stopped(self, job: BatchJob, job_id: int) -> bool:
        """A campaign paused or cancelled while its job waits for a worker: the job is
        called off and its rows given back (or skipped); True if it was."""
        with self.database.engine.begin() as conn:
            status = conn.scalar(select(Campaign.status).where(Campaign.id == job.campaign_id))
            if status is CampaignStatus.SENDING:
                return False
            return self._call_off(conn, job, job_id, status)

    def _cancel(self, job: BatchJob, job_id: int) -> bool:
        with self.database.engine.begin() as conn:
            return self._call_off(conn, job, job_id, None)

    def _call_off(
        self, conn: Connection, job: BatchJob, job_id: int, status: CampaignStatus | None
    ) -> bool:
        if conn.execute(_CANCEL, {"id": job_id}).scalar() is None:
            return False  # a worker has it: it ends soon
        if status is CampaignStatus.CANCELLED:
            ledger.move_ids(conn, job.delivery_ids, D.SENDING, status=D.SKIPPED,
                            error="campaign cancelled")  # fmt: skip
        else:
            ledger.move_ids(conn, job.delivery_ids, D.SENDING, status=D.PENDING,
                            attempts=Delivery.attempts - 1)  # fmt: skip
        return True

    def _report(self, job: BatchJob) -> BatchReport:
        """What the ledger says of the job's rows now."""
        with self.database.engine.begin() as conn:
            rows = conn.execute(
                select(Delivery.id, Delivery.status, Delivery.error)
                .where(in_values(conn, Delivery.id, list(job.delivery_ids)))
                .order_by(Delivery.id)
            ).all()
        report = BatchReport()
        outcomes: dict[Outcome, int] = {}
        for id_, status, error in rows:
            if status is D.SKIPPED:
                report.skipped += 1
                continue
            outcome = _OUTCOMES.get(status, Outcome.RETRY)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if status is not D.UNKNOWN:
                report.tried.append((id_, None if status is D.SENT else error or status.value))
        report.outcomes = outcomes
        return report
