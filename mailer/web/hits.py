"""Opens and clicks taken in memory and written in batches, off the request's path.

A tracking hit answers at once: its request only puts a :class:`Hit` here. One writer
thread takes every hit waiting, ties each to its ledger row in one query, and stores
the batch through :func:`~mailer.storage.counters.record_events` in one transaction:
a group commit, whose size grows with the load (the hits that came in while the last
batch was written make the next one), so that no request ever waits on the database's
write lock. :meth:`HitWriter.close` (the app's shutdown) writes what is left.

What a crash can lose: the hits taken and not yet committed, that is those of the batch
being written and those waiting behind it (a few milliseconds' worth under load; while
the database is out of reach, all that waits, at most ``max_waiting``).
Unsubscribes and confirmations do not come here: they are stored before their answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from mailer.storage.counters import record_events
from mailer.storage.database import Database
from mailer.storage.events import EventKind
from mailer.storage.models import Delivery
from mailer.storage.retry import cause, lost
from mailer.web.recording import own_event

__all__ = ["Hit", "HitWriter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hit:
    """An open or a click, as its verified token names it."""

    kind: EventKind
    campaign_id: int
    delivery_id: int
    subscriber_id: int
    occurred_at: datetime
    link_index: int | None = None
    url: str = ""


class HitWriter:
    """Takes hits from any thread; one thread of its own stores them.

    ``max_batch`` bounds one transaction; ``retry_seconds`` is the wait before a batch is
    tried again while the database is out of reach (the hits wait in memory, at most
    ``max_waiting`` of them: those beyond are dropped and counted, so that an outage
    under a wave of opens cannot fill the worker's memory), and ``close`` gives up after
    ``give_up_after`` tries of what is left.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_batch: int = 5000,
        max_waiting: int = 200_000,
        retry_seconds: float = 0.5,
        give_up_after: int = 20,
    ):
        self.database = database
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        # Hits dropped since the last batch was stored, and in all.
        self._dropped = 0
        self.dropped = 0
        self.retry_seconds = retry_seconds
        self.give_up_after = give_up_after
        self._pending: list[Hit] = []
        self._taken = 0
        self._settled = 0
        self._closing = False
        # Never set: what a retry waits on, without sleeping in a way nothing can end.
        self._pause = threading.Event()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def put(self, hit: Hit) -> None:
        """Take ``hit``; it is stored within a batch interval."""
        with self._cond:
            if self._closing:
                # A request that finished after the shutdown began: stored here and now.
                self._write_now([hit])
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hits", daemon=True)
                self._thread.start()
            if len(self._pending) >= self.max_waiting:
                self._dropped += 1
                self.dropped += 1
                return
            self._pending.append(hit)
            self._taken += 1
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every hit taken so far is stored (or given up); False if
        ``timeout`` seconds passed first."""
        with self._cond:
            target = self._taken
            return self._cond.wait_for(lambda: self._settled >= target, timeout)

    def close(self) -> None:
        """Store what is waiting and stop the thread (the app's shutdown)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    @property
    def waiting(self) -> int:
        """How many hits are taken and not yet stored."""
        with self._cond:
            return self._taken - self._settled

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._pending) or self._closing)
                if not self._pending:
                    return
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            self._store(batch)
            with self._cond:
                self._settled += len(batch)
                dropped, self._dropped = self._dropped, 0
                self._cond.notify_all()
            if dropped:
                log.error(
                    "%d tracking events dropped: %d were waiting for the database",
                    dropped,
                    self.max_waiting,
                )

    def _store(self, batch: list[Hit]) -> None:
        tries = 0
        while True:
            try:
                self._write(batch)
                return
            except IntegrityError:
                # One hit the database refuses (its campaign deleted meanwhile) must not
                # cost the others theirs.
                for hit in batch:
                    self._write_now([hit])
                return
            except SQLAlchemyError as err:
                tries += 1
                if not lost(err) or (self._closing and tries >= self.give_up_after):
                    log.error("%d tracking events not stored: %s", len(batch), cause(err))
                    return
                log.warning("tracking events wait for the database: %s", cause(err))
                self._pause.wait(self.retry_seconds)

    def _write_now(self, batch: Sequence[Hit]) -> None:
        try:
            self._write(batch)
        except SQLAlchemyError as err:
            log.warning("a tracking event was not stored: %s", cause(err))

    def _write(self, batch: Sequence[Hit]) -> None:
        ids = sorted({hit.delivery_id for hit in batch})
        with self.database.writing() as session:
            rows = {
                row.id: row
                for row in session.execute(
                    select(
                        Delivery.id, Delivery.campaign_id, Delivery.subscriber_id, Delivery.list_id
                    ).where(Delivery.id.in_(ids))
                )
            }
            events = []
            for hit in batch:
                row = rows.get(hit.delivery_id)
                # A forgotten subscriber's ledger rows are gone; a token's parts must
                # still belong together.
                if row is None or (row.campaign_id, row.subscriber_id) != (
                    hit.campaign_id,
                    hit.subscriber_id,
                ):
                    continue
                events.append(
                    own_event(
                        hit.kind,
                        occurred_at=hit.occurred_at,
                        campaign_id=hit.campaign_id,
                        delivery_id=hit.delivery_id,
                        subscriber_id=hit.subscriber_id,
                        list_id=row.list_id,
                        link_index=hit.link_index,
                        url=hit.url,
                    )
                )
            record_events(session, events)
