"""The seam between deciding what to send and sending it.

The sender claims rows of the ledger and hands each batch, as a :class:`BatchJob` of
plain data, to a :class:`Dispatcher`. :class:`InlineDispatcher` sends it at once, in this
process, through a :class:`BatchWorker`. A dispatcher that puts jobs on a task queue in
PostgreSQL, for workers on several machines to run ``BatchWorker.run``, fits here
without changing the sender or the workers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mailer.config import Settings
from mailer.delivery import ledger
from mailer.delivery.base import Backend
from mailer.delivery.campaigns import get_campaign
from mailer.delivery.ledger import Claimed
from mailer.delivery.links import CampaignLinks
from mailer.delivery.message import Batch, Content, Outcome, Recipient, RecipientResult
from mailer.delivery.tracking import TRACK, add_tracking
from mailer.exceptions import BackendError, MailerError
from mailer.rendering import RenderedEmail
from mailer.storage.database import Database
from mailer.storage.types import utcnow

__all__ = [
    "BatchJob",
    "BatchReport",
    "BatchWorker",
    "Dispatcher",
    "Handover",
    "InlineDispatcher",
    "ProcessDispatcher",
    "record_handover",
]


@dataclass(frozen=True)
class BatchJob:
    """One batch to send: claimed ledger rows of one campaign."""

    campaign_id: int
    rows: tuple[Claimed, ...]


@dataclass
class BatchReport:
    """What became of a batch: counts per outcome, and the errors seen."""

    outcomes: dict[Outcome, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class Dispatcher(ABC):
    @abstractmethod
    def dispatch(self, job: BatchJob) -> BatchReport:
        """Send ``job``; raises BackendError if no message of it could be handed over."""

    def close(self) -> None:  # noqa: B027 - most dispatchers hold nothing
        """Let go of what the dispatcher holds (worker processes, connections)."""


class InlineDispatcher(Dispatcher):
    def __init__(self, worker: BatchWorker):
        self.worker = worker

    def dispatch(self, job: BatchJob) -> BatchReport:
        return self.worker.run(job)


@dataclass
class _CampaignParts:
    content: Content
    rendered: RenderedEmail
    links: CampaignLinks
    tracked: bool  # the HTML carries the tracking token (looked up once, not per recipient)


class BatchWorker:
    """Builds one batch's messages, hands them to the backend and writes the outcome
    into the ledger."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        backend: Backend,
        *,
        clock: Callable[[], datetime] = utcnow,
        test: bool = False,
    ):
        self.database = database
        self.settings = settings
        self.backend = backend
        self.clock = clock
        self.test = test
        self._parts: dict[int, _CampaignParts] = {}

    def parts(self, campaign_id: int) -> _CampaignParts:
        if campaign_id not in self._parts:
            with self.database.session() as session:
                campaign = get_campaign(session, campaign_id)
                rendered = RenderedEmail.from_dict(campaign.rendered)
                subject = f"[TEST] {rendered.subject}" if self.test else rendered.subject
                body = rendered.html
                if campaign.tracking and not self.test:
                    # Test sends stay out of the statistics, as they stay out of the ledger.
                    body = add_tracking(body, self.settings.base_url)[0]
                content = Content(
                    subject=subject,
                    html=body,
                    text=rendered.text,
                    from_address=campaign.from_address,
                    from_name=campaign.from_name,
                    reply_to=campaign.reply_to,
                    campaign=campaign.uid,
                    is_test=self.test,
                )
                lists = {m.id: m.name for m in campaign.lists}
                self._parts[campaign_id] = _CampaignParts(
                    content,
                    rendered,
                    CampaignLinks(self.settings, campaign_id, campaign.from_address, lists),
                    TRACK in body,
                )
        return self._parts[campaign_id]

    def recipient(self, campaign_id: int, row: Claimed, uid: str) -> Recipient:
        parts = self.parts(campaign_id)
        links = parts.links
        unsubscribe = links.unsubscribe_url(row.subscriber_id, row.list_id)
        context = {
            "subscriber": {
                "email": row.email,
                "name": row.name,
                "attributes": row.attributes,
                "tags": row.tags,
                "timezone": row.timezone,
            },
            "unsubscribe_url": unsubscribe,
            "preferences_url": links.preferences_url(row.subscriber_id, row.list_id),
        }
        values = parts.rendered.substitutions(context)
        if parts.tracked:
            values[TRACK] = links.tracking_token(row.subscriber_id, row.list_id, row.delivery_id)
        return Recipient(
            delivery_id=f"{uid}.{row.delivery_id}",
            email=row.email,
            name=row.name,
            substitutions=values,
            headers=links.headers(row.list_id, unsubscribe),
        )

    def run(self, job: BatchJob) -> BatchReport:
        """Send a batch and write what came of it into the ledger."""
        return record_handover(self.database, self.hand_over(job), self.clock())

    def hand_over(self, job: BatchJob) -> Handover:
        """Build the batch's messages and hand them to the backend; writes nothing, so
        that it can run where the ledger is out of reach."""
        parts = self.parts(job.campaign_id)
        uid = parts.content.campaign
        recipients: list[Recipient] = []
        handover = Handover([])
        for row in job.rows:
            try:
                recipients.append(self.recipient(job.campaign_id, row, uid))
            except MailerError as err:
                # One recipient's data cannot make a message (a line break in a name, an
                # attribute an expression cannot use): that one fails, the rest go on.
                handover.results.append((row, RecipientResult("", Outcome.FAILED, error=str(err))))
        if not recipients:
            return handover
        by_id = {f"{uid}.{row.delivery_id}": row for row in job.rows}
        try:
            results = self.backend.send_batch(Batch(parts.content, recipients))
        except BackendError as err:
            handover.results.extend(
                (by_id[r.delivery_id], r) for r in err.results if r.delivery_id in by_id
            )
            done = {row.delivery_id for row, _ in handover.results}
            rest = [row for row in job.rows if row.delivery_id not in done]
            if err.retryable:
                retry = RecipientResult("", Outcome.RETRY, error=str(err))
                handover.results.extend((row, retry) for row in rest)
            else:
                handover.release.extend(rest)
            handover.error = err
            return handover
        handover.results.extend((by_id[r.delivery_id], r) for r in results)
        return handover


@dataclass
class Handover:
    """What the backend made of a batch, before the ledger hears of it: a result for
    each row handed over (or refused before), the rows to put back untouched, and the
    error that stopped the batch, if one did."""

    results: list[tuple[Claimed, RecipientResult]]
    release: list[Claimed] = field(default_factory=list)
    error: BackendError | None = None


def record_handover(database: Database, handover: Handover, now: datetime) -> BatchReport:
    """Write a handover into the ledger; then raise its error, if it has one."""
    with database.engine.begin() as conn:
        outcomes = ledger.record(conn, handover.results, now)
        ledger.release(conn, handover.release)
    if handover.error is not None:
        raise handover.error
    errors = [r.error for _, r in handover.results if r.outcome is not Outcome.SENT and r.error]
    return BatchReport(outcomes, errors)


class ProcessDispatcher(Dispatcher):
    """Sends batches in worker processes, each with its own database connection and
    backend, so that building messages is not held to one core by the interpreter's
    lock. Each worker writes its batch's outcome into the ledger itself: the process
    that claims is then free to claim. The jobs are plain data, pickled on the way."""

    def __init__(self, settings: Settings, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a fresh interpreter, nothing inherited (no open connections, no threads).
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(settings,),
        )

    def dispatch(self, job: BatchJob) -> BatchReport:
        return self.pool.submit(_run_job, job).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


_worker: dict[str, BatchWorker] = {}


def _start_worker(settings: Settings) -> None:
    from mailer.delivery.backends import get_backend
    from mailer.storage.database import open_database

    database = open_database(settings.database_url, migrate=False)
    backend = get_backend(settings)
    backend.open()
    _worker["worker"] = BatchWorker(database, settings, backend)


def _run_job(job: BatchJob) -> BatchReport:
    return _worker["worker"].run(job)
