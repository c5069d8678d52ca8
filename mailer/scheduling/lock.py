"""One scheduler per database: a lock held for as long as ``mailer run`` lives.

On PostgreSQL it is a session-level advisory lock, which the server releases when the
connection ends, however the process ends. On SQLite it is an exclusive ``flock`` on a
file beside the database, which the kernel releases when the process ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from mailer.exceptions import StateError

__all__ = ["SchedulerLock"]

# A constant key: the lock means "the scheduler of this database".
_ADVISORY_KEY = 0x6D61696C6572  # "mailer"


class SchedulerLock:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection: Connection | None = None
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise StateError saying who holds it."""
        url = make_url(str(self.engine.url))
        if self.engine.dialect.name == "postgresql":
            connection = self.engine.connect()
            # Out of the pool: closing it then ends the session, and with it the lock,
            # instead of handing a connection that holds the lock to someone else.
            connection.detach()
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": _ADVISORY_KEY}
            ).scalar()
            connection.commit()
            if not got:
                connection.close()
                raise StateError(
                    "another mailer run already schedules for this database; stop it first"
                )
            self._connection = connection
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

    def release(self) -> None:
        if self._connection is not None:
            # Unlocked here, not only by closing: the server ends a closed session when
            # it gets round to it, and a start right after this one would find it held.
            with contextlib.suppress(SQLAlchemyError):
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY}
                )
                self._connection.commit()
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
