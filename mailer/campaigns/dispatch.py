"""The seam between deciding what to send and sending it.

The sender claims rows of the ledger and hands each batch, as a :class:`BatchJob` of
plain data, to a :class:`Dispatcher`. :class:`InlineDispatcher` sends it at once, in this
process, through a :class:`BatchWorker`; :class:`ProcessDispatcher` in worker processes;
``mailer.workers.dispatcher.QueueDispatcher`` puts it on a job queue in PostgreSQL, in
the claim's transaction, for ``mailer worker`` processes on several machines.
"""

from __future__ import annotations

import gc
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from mailer.campaigns import ledger
from mailer.campaigns.ledger import Claimed
from mailer.campaigns.links import LINK_TOKEN, CampaignLinks
from mailer.campaigns.records import get_campaign
from mailer.campaigns.tracking import TRACK, add_tracking
from mailer.delivery.base import Backend
from mailer.delivery.message import Batch, Content, Outcome, Recipient, RecipientResult
from mailer.exceptions import BackendError, DatabaseUnavailable, InvalidMessage, MailerError
from mailer.rendering import RenderedEmail
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.retry import DatabaseRetry, lost
from mailer.storage.types import utcnow

__all__ = [
    "BatchJob",
    "BatchReport",
    "BatchWorker",
    "Dispatcher",
    "Handover",
    "InlineDispatcher",
    "ProcessDispatcher",
    "collect_rarely",
    "record_handover",
    "write_handover",
]


@dataclass(frozen=True)
class BatchJob:
    """One batch to send: the ids of claimed ledger rows of one campaign. Plain data,
    small enough for a pipe or a task queue: the worker reads the rest."""

    campaign_id: int
    delivery_ids: tuple[int, ...]


@dataclass
class BatchReport:
    """What became of a batch: counts per outcome, each row handed over with its error
    (None if it was sent) in the batch's order, and rows skipped (the subscriber left or
    was suppressed before their turn)."""

    outcomes: dict[Outcome, int] = field(default_factory=dict)
    tried: list[tuple[int, str | None]] = field(default_factory=list)
    skipped: int = 0


class Dispatcher(ABC):
    #: How many batches the sender keeps in flight at least (a queue for workers on
    #: several machines wants more than one process's few).
    in_flight: int = 0

    def claimed(self, conn: Connection, job: BatchJob) -> None:  # noqa: B027 - most do nothing
        """Called in the transaction that claims ``job``'s rows, before it commits: a
        dispatcher that queues jobs in the database queues it here, so that the queue
        and the ledger never disagree."""

    def recovering(self, conn: Connection, campaign_id: int) -> None:  # noqa: B027
        """Called when a send resumes, in the transaction that turns the rows a dead
        sender left ``sending`` into ``unknown``, before it does: a dispatcher whose
        jobs outlive their sender gives back the rows of jobs no one has taken."""

    @abstractmethod
    def dispatch(self, job: BatchJob) -> BatchReport:
        """Send ``job``; raises BackendError if no message of it could be handed over."""

    def start(self) -> None:  # noqa: B027 - most dispatchers have nothing to start
        """Get ready to take jobs (start worker processes), while the sender does what
        comes before the first job."""

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
        monotonic: Callable[[], float] = time.monotonic,
        test: bool = False,
        retry: DatabaseRetry | None = None,
    ):
        self.database = database
        self.settings = settings
        self.backend = backend
        self.clock = clock
        self.monotonic = monotonic
        self.test = test
        self.retry = retry or DatabaseRetry(settings.database_retry_seconds)
        self._parts: dict[int, _CampaignParts] = {}

    def parts(self, campaign_id: int) -> _CampaignParts:
        if campaign_id not in self._parts:
            self._parts[campaign_id] = self.retry(lambda: self._read_parts(campaign_id))
        return self._parts[campaign_id]

    def _read_parts(self, campaign_id: int) -> _CampaignParts:
        with self.database.session() as session:
            campaign = get_campaign(session, campaign_id)
            lists = {m.id: m.name for m in campaign.lists}
            links = CampaignLinks(self.settings, campaign_id, campaign.from_address, lists)
            stored = RenderedEmail.from_dict(campaign.rendered)
            if campaign.tracking and not self.test:
                # Test sends stay out of the statistics, as they stay out of the ledger.
                # Numbered by the links kept at create, where the redirects look.
                tracked = add_tracking(stored.html, campaign.links)[0]
                stored = replace(stored, html=tracked)
            rendered = links.with_links(stored)
            subject = f"[TEST] {rendered.subject}" if self.test else rendered.subject
            body = rendered.html
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
            return _CampaignParts(content, rendered, links, TRACK in body)

    def recipient(self, campaign_id: int, row: Claimed, uid: str) -> Recipient:
        parts = self.parts(campaign_id)
        links = parts.links
        subscriber = {
            "email": row.email,
            "name": row.name,
            "attributes": row.attributes,
            "tags": row.tags,
            "timezone": row.timezone,
        }
        values = parts.rendered.substitutions({"subscriber": subscriber})
        link_token = links.link_token(row.subscriber_id, row.list_id)
        values[LINK_TOKEN] = link_token
        if parts.tracked:
            values[TRACK] = links.tracking_token(row.subscriber_id, row.list_id, row.delivery_id)
        return Recipient(
            f"{uid}.{row.delivery_id}",
            row.email,
            row.name,
            values,
            links.headers(row.list_id, link_token),
        )

    def run(self, job: BatchJob) -> BatchReport:
        """Send a batch and write what came of it into the ledger. A database that
        stays lost raises DatabaseUnavailable; once messages were handed over, it holds
        their outcomes (``unwritten``) for the sender to write later."""

        def load() -> tuple[list[Claimed], int]:
            with self.database.engine.begin() as conn:
                return ledger.load(conn, job.delivery_ids)

        rows, skipped = self.retry(load)
        handover = self.hand_over(job.campaign_id, rows)
        report = record_handover(self.database, handover, self.clock(), self.retry)
        report.skipped = skipped
        return report

    def hand_over(self, campaign_id: int, rows: Sequence[Claimed]) -> Handover:
        """Build the messages of ``rows`` and hand them to the backend; writes nothing,
        so that it can run where the ledger is out of reach."""
        try:
            parts = self.parts(campaign_id)
        except DatabaseUnavailable:
            raise  # nothing handed over; the rows stay claimed, as after a crash
        except MailerError as err:
            # What every message needs cannot be made (a base_url that is not https):
            # nothing is handed over, the rows go back, and trying again will not help.
            error = BackendError(
                self.backend.name, f"cannot build the campaign's messages: {err}", retryable=False
            )
            return Handover([], release=list(rows), error=error)
        uid = parts.content.campaign
        handover, recipients, handed = self._build(campaign_id, rows, uid)
        if not recipients:
            return handover
        withdrawals = Withdrawals(self.database, campaign_id, handed, uid, self.monotonic)
        try:
            results = self._send_batch(Batch(parts.content, recipients, withdrawals))
        except BackendError as err:
            _refused(handover, err, rows, recipients, handed)
            return handover
        # A backend answers for every recipient, in the batch's order (Backend.send_batch).
        for recipient, row, result in zip(recipients, handed, results, strict=True):
            if result.delivery_id != recipient.delivery_id:
                raise RuntimeError(
                    f"{self.backend.name} answered for {result.delivery_id} where "
                    f"{recipient.delivery_id} was due: results must come in the batch's order"
                )
            handover.results.append((row, result))
        return handover

    def _build(
        self, campaign_id: int, rows: Sequence[Claimed], uid: str
    ) -> tuple[Handover, list[Recipient], list[Claimed]]:
        """The recipients of ``rows``, with the rows they are of; a row whose data
        cannot make a message fails in the handover (the rest go on)."""
        recipients: list[Recipient] = []
        handed: list[Claimed] = []  # the rows of ``recipients``
        handover = Handover([])
        for row in rows:
            try:
                recipients.append(self.recipient(campaign_id, row, uid))
            except MailerError as err:
                # A line break in a name, an attribute an expression cannot use.
                handover.results.append((row, RecipientResult("", Outcome.FAILED, error=str(err))))
            else:
                handed.append(row)
        return handover, recipients, handed

    def _send_batch(self, batch: Batch) -> list[RecipientResult]:
        try:
            return self.backend.send_batch(batch)
        except InvalidMessage as err:
            # What every message shares cannot go (a line break in the subject): nothing
            # was handed over, and trying again will not help.
            raise BackendError(
                self.backend.name, f"cannot send the campaign's message: {err}", retryable=False
            ) from err


def _refused(
    handover: Handover,
    err: BackendError,
    rows: Sequence[Claimed],
    recipients: Sequence[Recipient],
    handed: Sequence[Claimed],
) -> None:
    """Put into ``handover`` what a batch the backend stopped came to: the results it
    gave, and every other row tried again later (``err`` may pass) or put back."""
    by_id = {r.delivery_id: row for r, row in zip(recipients, handed, strict=True)}
    handover.results.extend(
        (by_id[r.delivery_id], r) for r in err.results if r.delivery_id in by_id
    )
    done = {row.delivery_id for row, _ in handover.results}
    rest = [row for row in rows if row.delivery_id not in done]
    if err.retryable:
        retry = RecipientResult("", Outcome.RETRY, error=str(err))
        handover.results.extend((row, retry) for row in rest)
    else:
        handover.release.extend(rest)
    handover.error = err


class Withdrawals:
    """Batch.withdrawn for a batch's rows: reads the ledger again (was the campaign
    cancelled, who left their list or was suppressed) at most once every ``every``
    seconds, and only once the batch has taken that long since it was loaded, so that a
    batch handed over in a blink costs nothing and a slow one honours an unsubscribe or
    a cancel within a second."""

    def __init__(
        self,
        database: Database,
        campaign_id: int,
        rows: Sequence[Claimed],
        uid: str,
        clock: Callable[[], float] = time.monotonic,
        every: float = 1.0,
    ):
        self._database = database
        self._campaign_id = campaign_id
        self._rows = rows
        self._uid = uid
        self._clock = clock
        self._every = every
        self._checked = clock()
        self._gone: dict[str, str] = {}  # by the recipients' delivery ids
        self._lock = threading.Lock()

    def __call__(self, delivery_id: str) -> str | None:
        if self._clock() - self._checked >= self._every:
            with self._lock:  # one read for every worker thread of the batch
                if self._clock() - self._checked >= self._every:
                    self._refresh()
        return self._gone.get(delivery_id) if self._gone else None

    def _refresh(self) -> None:
        try:
            with self._database.engine.begin() as conn:
                ids = [row.delivery_id for row in self._rows]
                gone = ledger.withdrawn(conn, self._campaign_id, ids)
        except DBAPIError as err:
            if not lost(err):
                raise
            # The batch was checked when it was loaded; a lost database must not stop
            # its handover half way (its outcomes would be lost): look again later.
            self._checked = self._clock()
            return
        self._gone = {f"{self._uid}.{row}": reason for row, reason in gone.items()}
        self._checked = self._clock()


@dataclass
class Handover:
    """What the backend made of a batch, before the ledger hears of it: a result for
    each row handed over (or refused before), the rows to put back untouched, and the
    error that stopped the batch, if one did."""

    results: list[tuple[Claimed, RecipientResult]]
    release: list[Claimed] = field(default_factory=list)
    error: BackendError | None = None


def record_handover(
    database: Database, handover: Handover, now: datetime, retry: DatabaseRetry | None = None
) -> BatchReport:
    """Write a handover into the ledger; then raise its error, if it has one. The write
    is retried while the database is lost (``retry``); if it stays lost, the
    DatabaseUnavailable carries the handover, whose messages are out already."""
    try:
        outcomes = (retry or DatabaseRetry(0))(lambda: write_handover(database, handover, now))
    except DatabaseUnavailable as err:
        err.unwritten = handover
        raise
    if handover.error is not None:
        raise handover.error
    # A withdrawn recipient is no failure: it does not count towards the error threshold.
    tried = [
        (row.delivery_id, None if r.outcome is Outcome.SENT else r.error or r.outcome.value)
        for row, r in handover.results
        if r.outcome is not Outcome.SKIPPED
    ]
    return BatchReport(outcomes, tried)


def write_handover(database: Database, handover: Handover, now: datetime) -> dict[Outcome, int]:
    """One transaction: the handover's outcomes, and its untouched rows put back. Safe
    to run again after a lost connection: every row gets the same values again."""
    with database.engine.begin() as conn:
        outcomes = ledger.record(conn, handover.results, now)
        ledger.release(conn, handover.release)
    return outcomes


class ProcessDispatcher(Dispatcher):
    """Sends batches in worker processes, each with its own database connection and
    backend, so that building messages is not held to one core by the interpreter's
    lock. Each worker writes its batch's outcome into the ledger itself: the process
    that claims is then free to claim. The jobs are plain data, pickled on the way."""

    def __init__(self, settings: Settings, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        # spawn: a fresh interpreter, nothing inherited (no open connections, no threads).
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(settings,),
        )

    def start(self) -> None:
        # A worker takes a second or two to import what sending needs; the sender fixes
        # the audience meanwhile. One call each, at once, makes the pool start them all.
        for _ in range(self.workers):
            self.pool.submit(_ready)

    def dispatch(self, job: BatchJob) -> BatchReport:
        return self.pool.submit(_run_job, job).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


_worker: dict[str, BatchWorker] = {}


def _start_worker(settings: Settings) -> None:
    from mailer.delivery.backends import get_backend
    from mailer.storage.database import open_database

    # This process only sends: what it has loaded stays, and the collector need not
    # trace it again.
    gc.freeze()
    collect_rarely()

    database = open_database(settings.database_url, migrate=False)
    backend = get_backend(settings)
    backend.open()
    _worker["worker"] = BatchWorker(database, settings, backend)


def collect_rarely() -> tuple[int, int, int]:
    """Run the cyclic garbage collector a hundred times less often; returns the
    thresholds before. A send makes tens of objects for every recipient, freed by
    reference counting (they hold no cycles), and keeps a batch of them alive at a time;
    at the default threshold the collector traced them over and over, a tenth of the
    time of a send."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 1) * 100, *before[1:])
    return before


def _ready() -> None:
    """Nothing: the initializer has run by the time a worker runs this."""


def _run_job(job: BatchJob) -> BatchReport:
    return _worker["worker"].run(job)
