"""Sending a campaign: claim a batch from the ledger, dispatch it, repeat until done.

The loop stops cleanly between batches when asked (Ctrl-C, SIGTERM, ``campaigns pause``
from another shell), pauses the campaign by itself when too many recent messages failed,
and marks it sent only when no row is pending or in flight. A sender keeps a heartbeat on
the campaign, so that a second sender does not take over a campaign that is alive.
"""

from __future__ import annotations

import gc
import math
import os
import secrets
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from sqlalchemy import Connection, select, update

from mailer.campaigns import ledger
from mailer.campaigns.dispatch import (
    BatchJob,
    BatchReport,
    BatchWorker,
    Dispatcher,
    Handover,
    InlineDispatcher,
    ProcessDispatcher,
    collect_rarely,
    write_handover,
)
from mailer.campaigns.localtime import wall_clock
from mailer.campaigns.pacing import RateLimiter
from mailer.campaigns.records import (
    Record,
    delivery_counts,
    get_campaign,
    list_ids,
    move,
    require_campaign_ready,
)
from mailer.delivery.base import Backend
from mailer.delivery.message import Outcome
from mailer.exceptions import BackendError, DatabaseUnavailable, NotReady, StateError
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.models import Campaign, CampaignStatus
from mailer.storage.retry import DatabaseRetry
from mailer.storage.types import utcnow
from mailer.subscribers.segments import Segment, parse_segment

__all__ = ["CampaignSender", "Progress", "SendOutcome", "Sleep", "collecting_less", "worker_name"]

#: A sender that has not shown a sign of life for this long is taken for dead.
HEARTBEAT_TIMEOUT = timedelta(minutes=2)
#: How often a sender shows it is alive.
HEARTBEAT_EVERY = timedelta(seconds=10)
#: While it waits (for retries, for the pace), a sender reads the status this often, in
#: seconds, so that a pause or cancel from another shell ends the wait.
WAIT_CHECK_EVERY = 5.0


#: The senders running in this process, by worker name: one that gave up (its database
#: was lost) is dead, though its process lives on.
_running_here: set[str] = set()


class Sleep(Protocol):
    """Waits ``seconds``, or less once ``until()`` is true. The sender's own asks
    ``until`` every ``WAIT_CHECK_EVERY`` seconds; a test's clock may move on at once."""

    def __call__(self, seconds: float, until: Callable[[], bool]) -> None: ...


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _alive_here(worker: str) -> bool | None:
    """Whether the sender named ``worker`` still runs, if it ran on this machine."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if int(pid) == os.getpid():
        return worker in _running_here
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sender_gone(campaign: Campaign, now: datetime) -> bool:
    """Whether no sender works on ``campaign`` any more: none was named, or the one
    named has died (seen on this machine) or fell silent (seen from elsewhere)."""
    alive = _alive_here(campaign.worker) if campaign.worker else False
    recent = campaign.heartbeat_at is not None and now - campaign.heartbeat_at < HEARTBEAT_TIMEOUT
    return not (alive or (alive is None and recent))


@contextmanager
def collecting_less() -> Iterator[None]:
    """:func:`~mailer.campaigns.dispatch.collect_rarely` for the time of a send, then the
    collector as it was."""
    before = collect_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*before)


@dataclass
class Progress:
    """Where a send stands, for progress bars and logs."""

    campaign_id: int
    total: int
    done: int
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class _Tally:
    """What a send has come to so far."""

    total: int
    done: int
    #: The last messages' outcomes in the order they came (ok, error), for the threshold.
    recent: deque[tuple[bool, str]]
    counts: Counter[str] = field(default_factory=Counter)
    #: The rows counted as failures so far: a row refused for now and tried again later
    #: counts as one failure however often it is refused (its later tries are all there
    #: is to send by then, and would crowd out the successes around its first).
    failed: set[int] = field(default_factory=set)

    def count(self, delivery_id: int, error: str | None) -> None:
        if error is None:
            self.recent.append((True, ""))
        elif delivery_id not in self.failed:
            self.failed.add(delivery_id)
            self.recent.append((False, error))


@dataclass
class _Flight:
    """The batches of a send in flight, and how it is to end once none is."""

    pool: ThreadPoolExecutor
    #: How many batches may be in flight at once.
    parallel: int
    tally: _Tally
    in_flight: deque[tuple[Future[BatchReport], BatchJob]] = field(default_factory=deque)
    #: What to do once nothing is in flight (action, reason), once something said stop.
    ending: tuple[str, str] | None = None


@dataclass
class SendOutcome:
    campaign_id: int
    status: CampaignStatus
    reason: str
    counts: Counter[str]


class CampaignSender:
    """Sends campaigns through one backend. ``clock`` and ``sleep`` are injectable so
    that tests of retries, rate limits and local-time waves need no waiting."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        backend: Backend,
        *,
        batch_size: int | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Sleep | None = None,
        limiter: RateLimiter | None = None,
        dispatcher: Dispatcher | None = None,
        stop: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_wait: Callable[[int, int, float], None] | None = None,
        error_threshold: float | None = None,
        error_window: int = 200,
        release_on_stop: bool = False,
        retry: DatabaseRetry | None = None,
    ):
        self.database = database
        self.settings = settings
        self.backend = backend
        # What is not given comes from the settings: every caller sends the same way.
        self.batch_size = batch_size or settings.send_batch_size or backend.batch_size
        self.clock = clock
        self.sleep = sleep or self._sleep
        self.limiter = limiter or RateLimiter.from_settings(settings)
        self.stop = stop or threading.Event()
        # Every transaction of a send is retried while the database is lost, for
        # database_retry_seconds on the sender's own clock (or until asked to stop);
        # then the campaign pauses.
        self.retry = retry or DatabaseRetry(
            settings.database_retry_seconds,
            sleep=lambda seconds: self.sleep(seconds, lambda: False),
            clock=lambda: clock().timestamp(),
            stop=self.stop,
        )
        # Handovers whose outcomes a lost database kept out of the ledger (_lost).
        self._unwritten: list[Handover] = []
        self._counts: Counter[str] = Counter()
        if dispatcher is None:
            if settings.send_processes:
                dispatcher = ProcessDispatcher(settings, settings.send_processes)
            else:
                worker = BatchWorker(database, settings, backend, clock=clock, retry=self.retry)
                dispatcher = InlineDispatcher(worker)
        self.dispatcher = dispatcher
        self.on_progress = on_progress
        # Told (campaign id, rows waiting, seconds) when only retries are left, not due yet.
        self.on_wait = on_wait
        self.error_threshold = error_threshold or settings.error_threshold
        self.error_window = error_window
        # A daemon shutting down leaves its campaigns "sending" for the next start to
        # resume; a person pressing Ctrl-C pauses them.
        self.release_on_stop = release_on_stop
        self.worker = worker_name()
        self._beat_at: datetime | None = None

    def send(self, campaign_id: int, *, record: Record | None = None) -> SendOutcome:
        """Start a draft or scheduled campaign: fix its audience, then send. ``record``
        writes what the caller keeps of the start (an audit entry) in its transaction."""
        now = self.clock()

        def start() -> tuple[list[int], Segment | None, ledger.LocalTime | None]:
            with self.database.session() as session:
                campaign = move(
                    session, campaign_id, "send", now=now, worker=self.worker, heartbeat_at=now
                )
                if record is not None:
                    record(session)
                segment = parse_segment(campaign.segment) if campaign.segment else None
                local_time = None
                if campaign.local_time:
                    local_time = ledger.LocalTime(
                        wall_clock(campaign.local_time),
                        {m.id: m.timezone for m in campaign.lists},
                        self.settings.timezone,
                    )
                return list_ids(campaign), segment, local_time

        lists, segment, local_time = self.retry(start)

        def fix_audience() -> None:
            with self.database.engine.begin() as conn:
                ledger.materialize(conn, campaign_id, lists, now, segment, local_time)

        return self._run(campaign_id, fix_audience)

    def resume(self, campaign_id: int, *, record: Record | None = None) -> SendOutcome:
        """Go on with a paused or failed campaign, or one whose sender died. Rows the
        dead sender had in flight become unknown; they are not sent again here."""
        now = self.clock()

        def start() -> None:
            with self.database.session() as session:
                campaign = get_campaign(session, campaign_id)
                if campaign.status is CampaignStatus.SENDING:
                    self._check_abandoned(campaign, now)
                move(session, campaign_id, "resume", now=now, worker=self.worker, heartbeat_at=now)
                if record is not None:
                    record(session)

        self.retry(start)

        def recover() -> None:
            with self.database.engine.begin() as conn:
                self.dispatcher.recovering(conn, campaign_id)
                ledger.recover(conn, campaign_id)

        return self._run(campaign_id, recover)

    def _check_abandoned(self, campaign: Campaign, now: datetime) -> None:
        if not sender_gone(campaign, now):
            raise StateError(
                f"campaign {campaign.id} is being sent by another process ({campaign.worker}); "
                "pause it first, or wait until it stops"
            )

    def _run(self, campaign_id: int, prepare: Callable[[], None]) -> SendOutcome:
        """Start the dispatcher, ``prepare`` the ledger meanwhile, then send."""
        _running_here.add(self.worker)
        self.dispatcher.start()
        try:
            self.retry(prepare)
            with collecting_less():
                return self._send_through_lost_workers(campaign_id)
        except DatabaseUnavailable as err:
            return self._lost(campaign_id, err)
        finally:
            _running_here.discard(self.worker)
            self.dispatcher.close()

    def _send_through_lost_workers(self, campaign_id: int) -> SendOutcome:
        """:meth:`_loop`, again after a worker process gave up on the database, for a
        sender that waits for as long as it takes (mailer run's): it writes what the
        worker could not, and goes on. Any other sender lets it through (_lost)."""
        while True:
            try:
                return self._loop(campaign_id)
            except DatabaseUnavailable:
                if not (math.isinf(self.retry.seconds) and not self.stop.is_set()):
                    raise
                self.retry(self._write_unwritten)

    def _loop(self, campaign_id: int) -> SendOutcome:
        """Claim, dispatch and take in batches until none is left or something says
        stop. Up to ``backend.parallel_batches`` batches are in flight at once (a
        provider's HTTP API keeps several busy; an SMTP pool is one batch at a time),
        or one for each worker process."""
        total, done = self.retry(lambda: self._totals(campaign_id))
        tally = _Tally(total, done, deque(maxlen=self.error_window))
        self._counts = tally.counts
        parallel = max(
            1,
            self.backend.parallel_batches,
            2 * self.settings.send_processes,
            self.dispatcher.in_flight,
        )
        refused = self._refusal(campaign_id, tally)
        if refused is not None:
            return refused
        with self.backend, ThreadPoolExecutor(parallel, thread_name_prefix="batch") as pool:
            flight = _Flight(pool, parallel, tally)
            while True:
                outcome = self._step(campaign_id, flight)
                if outcome is not None:
                    return outcome

    def _refusal(self, campaign_id: int, tally: _Tally) -> SendOutcome | None:
        """Stop before anything is claimed if the settings cannot send the campaign or
        the backend cannot open; None if the send can start (the backend open)."""
        not_ready = self.retry(lambda: self._not_ready(campaign_id))
        if not_ready is not None:
            # The settings changed after the campaign was created or scheduled, and
            # mailer run starts it without a person to ask: nothing is claimed yet.
            return self._stop(campaign_id, "pause", not_ready, tally.counts)
        try:
            self.backend.open()
        except BackendError as err:
            self.backend.close()
            # Nothing is claimed yet. A server that may come back pauses the campaign, a
            # setting to fix (a password, a certificate) fails it; either says why.
            action = "pause" if err.retryable else "fail"
            return self._stop(campaign_id, action, str(err), tally.counts)
        return None

    def _step(self, campaign_id: int, flight: _Flight) -> SendOutcome | None:
        """One turn of the loop: claim and submit a batch while there is room, else
        take in the oldest batch in flight, else end or wait for what is left. Returns
        the send's outcome once it ends."""
        now, claimed = self._next_claim(campaign_id, flight)
        if claimed is None:
            return None  # stopped while waiting for the pace: the next turn ends
        if claimed:
            job = BatchJob(campaign_id, tuple(claimed))
            flight.in_flight.append((flight.pool.submit(self._dispatch, job), job))
            if len(flight.in_flight) < flight.parallel:
                return None
        if flight.in_flight:
            future, job = flight.in_flight.popleft()
            verdict = self._absorb(campaign_id, future, job, flight.tally)
            flight.ending = flight.ending or verdict
            return None
        if flight.ending is not None:
            return self._end(campaign_id, flight.ending, flight.tally.counts)
        return self._when_idle(campaign_id, now, flight.tally)

    def _next_claim(self, campaign_id: int, flight: _Flight) -> tuple[datetime, list[int] | None]:
        """The time and the rows claimed this turn: none once the send is ending (a
        stop makes it end), None if a stop came while waiting for the pace (the rows
        reserved are given back)."""
        now = self.clock()
        if flight.ending is not None:
            return now, []
        if self.stop.is_set():
            flight.ending = ("release" if self.release_on_stop else "pause", "interrupted")
            return now, []
        size = self._pace(campaign_id)
        if self.stop.is_set():
            self._refund(size)
            return now, None
        now = self.clock()
        status, claimed = self.retry(partial(self._claim, campaign_id, size, now))
        if status is not CampaignStatus.SENDING:
            flight.ending = ("elsewhere", status.value)
        self._refund(size - len(claimed))
        return now, claimed

    def _when_idle(self, campaign_id: int, now: datetime, tally: _Tally) -> SendOutcome | None:
        """Nothing is in flight and nothing was claimed: finish if no row is left, else
        wait for the next retry that is due."""
        pending, sending, due = self.retry(lambda: self._outstanding(campaign_id))
        if pending == 0 and sending:
            # Nothing is in flight, yet rows are claimed: a claim whose commit's answer
            # a lost connection swallowed. Nothing of theirs was handed over here, but
            # they count as unknown, as after a crash, instead of being waited for for
            # ever.
            self.retry(lambda: self._recover(campaign_id))
            return None
        if pending == 0 and sending == 0:
            return self._stop(campaign_id, "finish", "", tally.counts)
        if due is not None and due > now:
            seconds = (due - now).total_seconds()
            if self.on_wait is not None:
                self.on_wait(campaign_id, pending, seconds)
            self._wait(seconds, campaign_id)
        return None

    def _claim(
        self, campaign_id: int, size: int, now: datetime
    ) -> tuple[CampaignStatus, list[int]]:
        """One transaction: the heartbeat, the status, and the claim of a batch."""
        with self.database.engine.begin() as conn:
            status = self._heartbeat(conn, campaign_id, now)
            if status is not CampaignStatus.SENDING:
                return status, []
            claimed = ledger.claim(conn, campaign_id, size, now)
            if claimed:
                self.dispatcher.claimed(conn, BatchJob(campaign_id, tuple(claimed)))
            return status, claimed

    def _dispatch(self, job: BatchJob) -> BatchReport:
        try:
            return self.dispatcher.dispatch(job)
        except DatabaseUnavailable as err:
            # Its messages are out: their outcomes wait here for the database (_lost).
            if isinstance(err.unwritten, Handover):
                self._unwritten.append(err.unwritten)
            raise

    def _outstanding(self, campaign_id: int) -> tuple[int, int, datetime | None]:
        with self.database.engine.begin() as conn:
            return ledger.outstanding(conn, campaign_id)

    def _recover(self, campaign_id: int) -> None:
        with self.database.engine.begin() as conn:
            ledger.recover(conn, campaign_id)

    def _pace(self, campaign_id: int) -> int:
        """How many rows to claim next, after waiting until the rate limits let that
        many go. The wait comes before the claim: rows wait as pending, not as sending
        (which a crash would leave unknown), and a stop while waiting claims nothing.
        A batch is no larger than a limit's burst, so that it does not go out at once
        after a long wait."""
        if self.limiter is None:
            return self.batch_size
        size = min(self.batch_size, self.limiter.largest_batch)
        self._wait(self.limiter.reserve(size), campaign_id)
        return size

    def _refund(self, unused: int) -> None:
        if self.limiter is not None:
            self.limiter.refund(unused)

    def _absorb(
        self, campaign_id: int, future: Future[BatchReport], job: BatchJob, tally: _Tally
    ) -> tuple[str, str] | None:
        """Count what a batch came to; say whether the campaign must stop for it."""
        try:
            report = future.result()
        except BackendError as err:
            if not err.retryable:
                return ("fail", str(err))
            # The worker put the batch back for a later retry.
            tally.counts["retry"] += len(job.delivery_ids)
            for delivery_id in job.delivery_ids:
                tally.count(delivery_id, str(err))
        else:
            for outcome, count in report.outcomes.items():
                tally.counts[outcome.value] += count
                if outcome is not Outcome.RETRY:
                    tally.done += count
            tally.counts["skipped"] += report.skipped
            tally.done += report.skipped
            # In the order they came: a batch's failures after all its successes would
            # fill the window with failures at any rate of them.
            for delivery_id, error in report.tried:
                tally.count(delivery_id, error)
            if self.on_progress is not None:
                progress = Progress(campaign_id, tally.total, tally.done, tally.counts.copy())
                self.on_progress(progress)
        if self._too_many_errors(tally.recent):
            return ("pause", self._why(tally.recent))
        return None

    def _not_ready(self, campaign_id: int) -> str | None:
        """Why these settings cannot send the campaign as real mail, if they cannot."""
        with self.database.session() as session:
            try:
                require_campaign_ready(session, self.settings, campaign_id)
            except NotReady as err:
                return str(err)
        return None

    def _end(self, campaign_id: int, ending: tuple[str, str], counts: Counter[str]) -> SendOutcome:
        action, reason = ending
        if action == "release":
            return self._release(campaign_id, counts)
        if action == "elsewhere":
            status = CampaignStatus(reason)
            return SendOutcome(campaign_id, status, "stopped from elsewhere", counts)
        return self._stop(campaign_id, action, reason, counts)

    def _totals(self, campaign_id: int) -> tuple[int, int]:
        with self.database.session() as session:
            counts = delivery_counts(session, [campaign_id]).get(campaign_id, {})
        total = sum(counts.values())
        return total, total - counts.get("pending", 0) - counts.get("sending", 0)

    def _heartbeat(self, conn: Connection, campaign_id: int, now: datetime) -> CampaignStatus:
        """Show this sender is alive (every few seconds: it is a write) and read the
        campaign's status (every time: a pause from another shell stops the next batch)."""
        if self._beat_at is None or now - self._beat_at >= HEARTBEAT_EVERY:
            self._beat_at = now
            conn.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.worker == self.worker)
                .values(heartbeat_at=now)
            )
        row = conn.execute(
            select(Campaign.status, Campaign.worker).where(Campaign.id == campaign_id)
        ).one()
        if row.worker != self.worker and row.status is CampaignStatus.SENDING:
            raise StateError(
                f"campaign {campaign_id} is being sent by another process ({row.worker}): "
                "this one stops"
            )
        return CampaignStatus(row.status)

    def _wait(self, seconds: float, campaign_id: int) -> None:
        # A pause or cancel from elsewhere ends the wait (the loop reads the status again
        # and ends); reading it shows signs of life too (a local-time send waits hours
        # between waves).
        def stopped_elsewhere() -> bool:
            status = self.retry(lambda: self._beat(campaign_id))
            return status is not CampaignStatus.SENDING

        if seconds > 0 and not self.stop.is_set():
            self.sleep(seconds, stopped_elsewhere)

    def _beat(self, campaign_id: int) -> CampaignStatus:
        with self.database.engine.begin() as conn:
            return self._heartbeat(conn, campaign_id, self.clock())

    def _sleep(self, seconds: float, until: Callable[[], bool]) -> None:
        # Waits on the stop event, so that a stop ends the wait at once; asks ``until``
        # every few seconds.
        deadline = time.monotonic() + seconds
        while not self.stop.wait(min(max(deadline - time.monotonic(), 0.0), WAIT_CHECK_EVERY)):
            if time.monotonic() >= deadline or until():
                return

    def _too_many_errors(self, recent: deque[tuple[bool, str]]) -> bool:
        if len(recent) < min(self.error_window, 20):
            return False
        failures = sum(1 for ok, _ in recent if not ok)
        return failures / len(recent) >= self.error_threshold

    def _why(self, recent: deque[tuple[bool, str]]) -> str:
        failures = [error for ok, error in recent if not ok]
        common, _ = Counter(failures).most_common(1)[0]
        return (
            f"{len(failures)} of the last {len(recent)} messages failed "
            f"(most often: {common}); fix the cause, then resume"
        )

    def _release(self, campaign_id: int, counts: Counter[str]) -> SendOutcome:
        def release() -> None:
            with self.database.session() as session:
                session.execute(
                    update(Campaign)
                    .where(Campaign.id == campaign_id, Campaign.worker == self.worker)
                    .values(worker="", heartbeat_at=None)
                )

        self.retry(release)
        return SendOutcome(campaign_id, CampaignStatus.SENDING, "shutting down", counts)

    def _stop(
        self, campaign_id: int, action: str, reason: str, counts: Counter[str]
    ) -> SendOutcome:
        def stop() -> SendOutcome:
            with self.database.session() as session:
                try:
                    campaign = move(session, campaign_id, action, reason=reason, now=self.clock())
                except StateError:
                    campaign = get_campaign(session, campaign_id)
                session.execute(
                    update(Campaign)
                    .where(Campaign.id == campaign_id, Campaign.worker == self.worker)
                    .values(worker="")
                )
                return SendOutcome(campaign_id, campaign.status, reason, counts)

        return self.retry(stop)

    def _lost(self, campaign_id: int, err: DatabaseUnavailable) -> SendOutcome:
        """The database stayed lost: write the outcomes that batches could not (their
        messages are out), then pause the campaign saying why (a daemon shutting down
        leaves it to its next start). If the database is still lost, that cannot be
        written either: DatabaseUnavailable with ``campaign_id`` says the campaign stays
        ``sending``; ``resume`` completes it, and rows whose outcome was not written
        show as unknown."""
        try:
            self.retry(self._write_unwritten)
            if self.release_on_stop and self.stop.is_set():
                return self._release(campaign_id, self._counts)
            return self._stop(campaign_id, "pause", str(err), self._counts)
        except DatabaseUnavailable as again:
            again.campaign_id = campaign_id
            raise

    def _write_unwritten(self) -> None:
        while self._unwritten:
            write_handover(self.database, self._unwritten[0], self.clock())
            self._unwritten.pop(0)
