"""``mailer run``: the scheduler and the send workers in one long-lived process.

Campaign timers live in APScheduler's SQLAlchemy job store in the project's database
(job id ``campaign-<id>``); the daemon's own housekeeping (reconciling that store with
the campaigns table every few seconds) runs from a memory store. Sends run on a small
thread pool; on SIGTERM or SIGINT each sender finishes the batch in hand and leaves its
campaign ``sending``, so that the next start resumes it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from mailer.campaigns import actions
from mailer.campaigns.sender import SendOutcome
from mailer.delivery.backends import get_backend
from mailer.delivery.base import Backend
from mailer.exceptions import MailerError, StateError
from mailer.scheduling.clocked import ClockedScheduler
from mailer.scheduling.digests import run_digest, trigger
from mailer.scheduling.lock import SchedulerLock
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.models import Campaign, CampaignStatus, Digest
from mailer.storage.retry import DatabaseRetry, cause, lost
from mailer.storage.types import utcnow

__all__ = ["Daemon", "campaign_job_id"]

log = logging.getLogger("mailer")

#: The daemon whose jobs the job store's textual references call (one per process).
_active: dict[str, Daemon] = {}


def _not_job_store_errors(record: logging.LogRecord) -> bool:
    # APScheduler warns, with SQLAlchemy's whole message, every ten seconds that it
    # cannot read its job store; the reconcile says once that the database is lost.
    return not str(record.msg).startswith("Error getting due jobs")


def campaign_job_id(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def fire_campaign(campaign_id: int) -> None:
    """What a campaign's timer calls (by this name, from the job store). The timer only
    wakes the daemon up: the reconcile sends what the campaigns table says is due by the
    daemon's clock, and says how late, as it does on start."""
    daemon = _active.get("daemon")
    if daemon is not None:
        daemon.reconcile()


def fire_digest(name: str) -> None:
    """What a digest's timer calls (by this name, from the job store)."""
    daemon = _active.get("daemon")
    if daemon is not None:
        daemon.executor.submit(daemon.run_digest, name)


class Daemon:
    """The scheduler, the senders, and the lock that makes them the only ones."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        backend_factory: Callable[[Settings], Backend] = get_backend,
        executor: Executor | None = None,
        reconcile_seconds: float = 5.0,
    ):
        self.settings = settings
        self.database = database
        self.clock = clock
        self.backend_factory = backend_factory
        self.executor = executor or ThreadPoolExecutor(max_workers=4, thread_name_prefix="send")
        self.reconcile_seconds = reconcile_seconds
        self.stop_event = threading.Event()
        self.lock = SchedulerLock(database.engine)
        # APScheduler reads the time from the same clock as the rest of the daemon.
        self.scheduler = ClockedScheduler(
            clock,
            jobstores={
                "default": SQLAlchemyJobStore(engine=database.engine),
                "internal": MemoryJobStore(),
            },
            executors={"default": JobExecutor(2)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(settings.late_send_limit.total_seconds()),
            },
            timezone=settings.zone,
        )
        self.running: dict[int, Future[SendOutcome | None]] = {}
        self._guard = threading.Lock()
        self._reconciling = threading.Lock()
        self._database_lost = False

    # --- life cycle -------------------------------------------------------------

    def start(self) -> None:
        self.lock.acquire()
        _active["daemon"] = self
        logging.getLogger("apscheduler.scheduler").addFilter(_not_job_store_errors)
        self.scheduler.start()
        self.scheduler.add_job(
            self.reconcile,
            "interval",
            seconds=self.reconcile_seconds,
            # The interval trigger reads the real clock for its start; ours is given.
            start_date=self.clock() + timedelta(seconds=self.reconcile_seconds),
            id="reconcile",
            jobstore="internal",
            replace_existing=True,
        )
        log.info("scheduler started (timezone %s)", self.settings.timezone)
        self.resume_interrupted()
        self.reconcile()
        log.info("ready: %d timers", len(self.scheduler.get_jobs(jobstore="default")))

    def stop(self) -> None:
        """Ask every sender to stop after its batch, wait for them, release the lock."""
        self.stop_event.set()
        # APScheduler's shutdown holds its job-store lock while it waits for the jobs
        # that run; a reconcile halfway there would wait for that lock for ever. So no
        # reconcile is running past this point, and none that starts later does anything.
        with self._reconciling:
            pass
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.executor.shutdown(wait=True)
        self.lock.release()
        logging.getLogger("apscheduler.scheduler").removeFilter(_not_job_store_errors)
        if _active.get("daemon") is self:
            del _active["daemon"]
        log.info("stopped")

    def run_forever(self) -> None:
        self.start()
        try:
            self.stop_event.wait()
        finally:
            self.stop()

    # --- campaigns --------------------------------------------------------------

    def resume_interrupted(self) -> None:
        """Campaigns left ``sending`` by a process that stopped go on."""
        with self.database.session() as session:
            ids = session.scalars(
                select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING)
            ).all()
        for campaign_id in ids:
            log.info("campaign %s was being sent when the last run stopped: resuming", campaign_id)
            self._submit(campaign_id, resume=True)

    def reconcile(self) -> None:
        """Bring the timers in line with the campaigns table; fire what is due."""
        with self._reconciling:
            if not self.stop_event.is_set():
                try:
                    self.lock.keep()
                    self._reconcile()
                except DBAPIError as err:
                    self._lost_database(err)
                except StateError:
                    log.error("another mailer run took over while the database was lost: stopping")
                    self.stop_event.set()
                else:
                    self._found_database()

    def _lost_database(self, err: DBAPIError) -> None:
        """A lost database is looked for again at the next reconcile: one line says so,
        once, instead of a traceback every few seconds."""
        if not lost(err):
            raise err
        if not self._database_lost:
            self._database_lost = True
            log.warning(
                "the database is out of reach (%s); looking again every %g s",
                cause(err),
                self.reconcile_seconds,
            )

    def _found_database(self) -> None:
        if self._database_lost:
            self._database_lost = False
            log.info("the database answers again")

    def _reconcile(self) -> None:
        now = self.clock()
        limit = self.settings.late_send_limit
        with self.database.session() as session:
            due = session.execute(
                select(Campaign.id, Campaign.scheduled_at).where(
                    Campaign.status == CampaignStatus.SCHEDULED
                )
            ).all()
        wanted = {campaign_job_id(cid): (cid, at) for cid, at in due if at is not None}
        for job in self.scheduler.get_jobs(jobstore="default"):
            if job.id.startswith("campaign-") and job.id not in wanted:
                job.remove()
        self._reconcile_digests()
        for job_id, (campaign_id, at) in wanted.items():
            late = now - at
            if late >= limit:
                self._miss(campaign_id, at, now)
            elif late >= timedelta(0):
                self._remove_job(job_id)
                self.fire(campaign_id, late=late)
            else:
                job = self.scheduler.get_job(job_id, jobstore="default")
                if job is None or job.next_run_time != at:
                    self.scheduler.add_job(
                        fire_campaign,
                        "date",
                        run_date=at,
                        args=[campaign_id],
                        id=job_id,
                        jobstore="default",
                        replace_existing=True,
                    )
                    log.info("campaign %s scheduled for %s", campaign_id, at.isoformat())

    def _reconcile_digests(self) -> None:
        with self.database.session() as session:
            digests = session.execute(
                select(Digest.name, Digest.cron, Digest.timezone).where(Digest.paused.is_(False))
            ).all()
        wanted = {f"digest-{name}": (name, cron, tz) for name, cron, tz in digests}
        for job in self.scheduler.get_jobs(jobstore="default"):
            if job.id.startswith("digest-") and job.id not in wanted:
                job.remove()
        for job_id, (name, cron, tz) in wanted.items():
            signature = f"{cron} ({tz})"
            job = self.scheduler.get_job(job_id, jobstore="default")
            if job is not None and job.name == signature:
                continue
            self.scheduler.add_job(
                fire_digest,
                trigger(cron, tz),
                args=[name],
                id=job_id,
                name=signature,
                jobstore="default",
                replace_existing=True,
            )
            log.info("digest %s runs %s", name, signature)

    def run_digest(self, name: str) -> None:
        """One run of a digest: its new items as a campaign, sent at once."""
        if self.stop_event.is_set():
            return
        try:
            run = run_digest(self.database, self.settings, name, now=self.clock())
        except MailerError as err:
            log.error("digest %s: %s", name, err)
            return
        except DBAPIError as err:
            if not lost(err):
                raise
            log.warning("digest %s: the database is out of reach (%s); its next run tries again",
                        name, cause(err))  # fmt: skip
            return
        if run.error:
            log.warning("digest %s: the feed could not be read (%s); trying again next time",
                        name, run.error)  # fmt: skip
        elif run.campaign_id is None:
            log.info("digest %s: no new items, nothing sent", name)
        else:
            log.info("digest %s: %d new items, campaign %s", name, run.new_items, run.campaign_id)
            self._send(run.campaign_id, resume=False)

    def fire(self, campaign_id: int, *, late: timedelta) -> None:
        if late > timedelta(seconds=1):
            log.info("campaign %s is due since %s: sending it now", campaign_id, _duration(late))
        self._submit(campaign_id, resume=False)

    def _miss(self, campaign_id: int, at: datetime, now: datetime) -> None:
        self._remove_job(campaign_job_id(campaign_id))
        reason = (
            f"missed: due at {at.isoformat()}, {_duration(now - at)} before the scheduler ran, "
            f"more than late_send_limit ({_duration(self.settings.late_send_limit)})"
        )
        with self.database.session() as session:
            try:
                actions.miss(session, campaign_id, reason=reason, now=now)
            except StateError:
                return
        log.warning("campaign %s %s", campaign_id, reason)

    def _remove_job(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(job_id, jobstore="default")

    def _submit(self, campaign_id: int, *, resume: bool) -> None:
        with self._guard:
            running = self.running.get(campaign_id)
            if running is not None and not running.done():
                return
            self.running[campaign_id] = self.executor.submit(self._send, campaign_id, resume)

    def _send(self, campaign_id: int, resume: bool) -> SendOutcome | None:
        if self.stop_event.is_set():
            return None
        sender = actions.sender_for(
            self.database,
            self.settings,
            self.backend_factory(self.settings),
            clock=self.clock,
            stop=self.stop_event,
            release_on_stop=True,
            retry=self._database_retry(campaign_id),
        )
        try:
            log.info("campaign %s: %s", campaign_id, "resuming" if resume else "sending")
            outcome = actions.send(sender, campaign_id, resume=resume)
        except MailerError as err:
            log.error("campaign %s: %s", campaign_id, err)
            return None
        except Exception:
            log.exception("campaign %s: unexpected error", campaign_id)
            return None
        counts = ", ".join(f"{k} {v}" for k, v in sorted(outcome.counts.items()) if v)
        log.info(
            "campaign %s is %s%s%s",
            campaign_id,
            outcome.status.value,
            f" ({outcome.reason})" if outcome.reason else "",
            f": {counts}" if counts else "",
        )
        return outcome

    def _database_retry(self, campaign_id: int) -> DatabaseRetry:
        """A sender of the daemon waits for a lost database for as long as it takes
        (until the daemon stops), saying so in one line, and goes on when it is back."""

        def wait(seconds: float) -> None:
            self.stop_event.wait(seconds)

        return DatabaseRetry(
            math.inf,
            sleep=wait,
            stop=self.stop_event,
            on_lost=lambda why: log.warning(
                "campaign %s: the database is out of reach (%s); waiting for it", campaign_id, why
            ),
            on_back=lambda: log.info("campaign %s: the database answers again", campaign_id),
        )


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
