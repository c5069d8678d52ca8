"""One scheduler per database: a lock held for as long as ``mailer run`` lives.

On PostgreSQL it is a session-level advisory lock, which the server releases when the
connection ends, however the process ends (and when the server restarts or drops the
connection: :meth:`SchedulerLock.keep` then takes it again). On SQLite it is an
exclusive ``flock`` on a file beside the database, which the kernel releases when the
process ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from mailer.exceptions import StateError
from mailer.storage.retry import lost

__all__ = ["SchedulerLock"]

# A constant key: the lock means "the scheduler of this database".
_ADVISORY_KEY = 0x6D61696C6572  # "mailer"


# How pg_locks shows a bigint advisory key: its high and low 32 bits.
_KEY_PARTS = {"high": _ADVISORY_KEY >> 32, "low": _ADVISORY_KEY & 0xFFFFFFFF}
_END_OLD_SESSION = text(
    "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory' "
    "AND classid = :high AND objid = :low AND objsubid = 1 AND granted AND pid = :pid"
)


def _try_lock(connection: Connection) -> bool:
    got = connection.execute(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}
    ).scalar()
    connection.commit()
    return bool(got)


class SchedulerLock:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection: Connection | None = None
        self._file: IO[str] | None = None
        self._advisory = False  # held on PostgreSQL, or to be taken again
        self._backend: int | None = None  # the server process of the session holding it

    def acquire(self) -> None:
        """Take the lock or raise StateError saying who holds it."""
        url = make_url(str(self.engine.url))
        if self.engine.dialect.name == "postgresql":
            self._take_advisory()
            self._advisory = True
            return
        database = url.database or ""
        path = Path(f"{database}.scheduler.lock") if database and database != ":memory:" else None
        if path is None:
            return  # an in-memory database is this process's alone
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StateError(
                f"another mailer run ({holder}) already schedules for this database; stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._file = handle

    def _take_advisory(self) -> None:
        connection = self.engine.connect()
        # Out of the pool: closing it then ends the session, and with it the lock,
        # instead of handing a connection that holds the lock to someone else.
        connection.detach()
        got = _try_lock(connection)
        if not got and self._backend is not None:
            # Our own session from before the connection was lost may linger on the
            # server (until it notices), holding the lock: end it, and only it.
            connection.execute(_END_OLD_SESSION, {"pid": self._backend, **_KEY_PARTS})
            got = _try_lock(connection)
        if not got:
            connection.close()
            raise StateError(
                "another mailer run already schedules for this database; stop it first"
            )
        self._backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        connection.commit()
        self._connection = connection

    def keep(self) -> None:
        """Make sure the PostgreSQL lock is still held: a server that restarted or
        dropped the connection let go of it, so it is taken again. StateError says that
        another mailer run took it meanwhile; a DBAPIError, that the database is still
        out of reach (the next call tries again)."""
        if not self._advisory:
            return
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.rollback()
                return
            except DBAPIError as err:
                if not lost(err):
                    raise
                with contextlib.suppress(DBAPIError):
                    self._connection.close()
                self._connection = None
        self._take_advisory()

    def release(self) -> None:
        self._advisory = False
        if self._connection is not None:
            with contextlib.suppress(DBAPIError):  # a connection the server dropped
                self._connection.close()
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
