"""Each worker's row in ``send_workers``: who it is, what it sends, how fast; for
``mailer workers ls``. A worker writes it every few seconds and deletes it when it
stops; a row left behind, silent, is a worker that died."""

from __future__ import annotations

import os
import socket
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from mailer.storage.database import Database
from mailer.storage.models import SendWorker
from mailer.storage.types import utcnow

__all__ = ["Roster", "WorkerRow", "list_workers"]

#: The span the rate is measured over.
RATE_WINDOW = timedelta(minutes=1)


class Roster:
    """This worker's row: counts what its jobs send (from any thread) and writes it
    when :meth:`write` is called."""

    def __init__(
        self,
        database: Database,
        name: str,
        concurrency: int,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.database = database
        self.name = name
        self.concurrency = concurrency
        self.clock = clock
        self.started_at = clock()
        self._lock = threading.Lock()
        self._messages = 0
        self._recent: deque[tuple[datetime, int]] = deque()
        self._campaigns: dict[int, int] = {}  # campaign id: batches of it in hand

    def taking(self, campaign_id: int) -> None:
        with self._lock:
            self._campaigns[campaign_id] = self._campaigns.get(campaign_id, 0) + 1

    def done(self, campaign_id: int, messages: int) -> None:
        with self._lock:
            left = self._campaigns.get(campaign_id, 1) - 1
            if left:
                self._campaigns[campaign_id] = left
            else:
                self._campaigns.pop(campaign_id, None)
            self._messages += messages
            self._recent.append((self.clock(), messages))

    def _rate(self, now: datetime) -> float:
        while self._recent and now - self._recent[0][0] > RATE_WINDOW:
            self._recent.popleft()
        if not self._recent:
            return 0.0
        span = max((now - min(self._recent[0][0], now - RATE_WINDOW / 6)).total_seconds(), 1.0)
        return sum(count for _, count in self._recent) / span

    def write(self) -> None:
        now = self.clock()
        with self._lock:
            values = {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "concurrency": self.concurrency,
                "started_at": self.started_at,
                "seen_at": now,
                "campaign_id": min(self._campaigns) if self._campaigns else None,
                "messages": self._messages,
                "rate": self._rate(now),
            }
        statement = insert(SendWorker).values(name=self.name, **values)
        with self.database.engine.begin() as conn:
            conn.execute(
                statement.on_conflict_do_update(index_elements=[SendWorker.name], set_=values)
            )

    def remove(self) -> None:
        with self.database.engine.begin() as conn:
            conn.execute(delete(SendWorker).where(SendWorker.name == self.name))


@dataclass(frozen=True)
class WorkerRow:
    name: str
    host: str
    pid: int
    concurrency: int
    started_at: datetime
    seen_at: datetime
    campaign_id: int | None
    messages: int
    rate: float
    alive: bool


def list_workers(database: Database, now: datetime, silent_after: timedelta) -> Sequence[WorkerRow]:
    """Every worker's row, the silent ones (none heard of for ``silent_after``) marked
    not alive, by host and name."""
    with database.session() as session:
        rows = session.scalars(select(SendWorker).order_by(SendWorker.host, SendWorker.name))
        return [
            WorkerRow(
                row.name,
                row.host,
                row.pid,
                row.concurrency,
                row.started_at,
                row.seen_at,
                row.campaign_id,
                row.messages,
                row.rate,
                now - row.seen_at < silent_after,
            )
            for row in rows
        ]
