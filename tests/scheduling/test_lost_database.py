"""``mailer run`` and a lost database: it says so in one line, waits, and goes on when
the database is back, without a traceback and without pausing anything."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view
from mailer.campaigns.schedule import schedule
from mailer.scheduling.daemon import Daemon
from mailer.scheduling.lock import _ADVISORY_KEY as ADVISORY
from mailer.settings import Settings
from mailer.storage import Database, open_database
from tests.campaigns.test_lost_database import (
    FileLock,
    HookedBackend,
    fast,
    lock,
    postgres_only,
    terminate_connections,
)
from tests.support.clock import Clock, InlineExecutor
from tests.support.examples import ARTICLE

__all__ = ["fast", "lock"]  # fixtures


def new_campaign(db: Database, settings: Settings) -> int:
    with db.session() as session:
        return actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id


class LetGoWhenLogged(logging.Handler):
    """The other process lets go of the file once the daemon has said it waits."""

    def __init__(self, lock: FileLock):
        super().__init__(logging.WARNING)
        self.file_lock = lock

    def emit(self, record: logging.LogRecord) -> None:
        if "out of reach" in record.getMessage():
            self.file_lock.release()


@pytest.fixture
def mailer_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="mailer"):
        yield caplog


def test_a_send_of_the_daemon_waits_for_a_locked_database_and_goes_on(
    fast: Database, db: Database, settings: Settings, weekly: list[str],
    sent: list[EmailMessage], clock: Clock, lock: FileLock,
    mailer_log: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    campaign_id = new_campaign(db, settings)
    settings = settings.model_copy(update={"send_batch_size": 7})
    handler = LetGoWhenLogged(lock)
    logging.getLogger("mailer").addHandler(handler)
    try:
        daemon = Daemon(
            settings,
            fast,
            clock=clock,
            backend_factory=lambda s: HookedBackend(sent, 10, lock.take),
            executor=InlineExecutor(),
        )
        daemon.fire(campaign_id, late=timedelta(0))
    finally:
        logging.getLogger("mailer").removeHandler(handler)
    with db.session() as session:
        assert campaign_view(session, campaign_id).counts == {"sent": 25}
    assert sorted(m["To"].addresses[0].addr_spec for m in sent) == sorted(weekly)
    said = [r.getMessage() for r in mailer_log.records if "database" in r.getMessage()]
    assert said == [
        f"campaign {campaign_id}: the database is out of reach (database is locked); "
        "waiting for it",
        f"campaign {campaign_id}: the database answers again",
    ]
    assert not any(r.exc_info for r in mailer_log.records)


class Outage:
    """PostgreSQL reached through a TCP relay on loopback that the test takes down (it
    drops every connection and refuses new ones, as a server that restarts) and brings
    back on the same port."""

    def __init__(self, target: str):
        url = make_url(target)
        self.upstream = (url.host or "127.0.0.1", url.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self.open: list[socket.socket] = []
        self._serve()

    def _serve(self) -> None:
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # taken down
            server = socket.create_connection(self.upstream)
            self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        self.listener.close()
        for end in self.open:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        self.open = []

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self._serve()


@pytest.fixture
def outage(database_url: str, db: Database) -> Iterator[Outage]:
    postgres_only(database_url)
    relay = Outage(database_url)
    yield relay
    relay.down()


def test_the_daemon_rides_out_a_lost_postgresql_and_takes_its_lock_again(
    outage: Outage, db: Database, settings: Settings, weekly: list[str],
    sent: list[EmailMessage], clock: Clock, mailer_log: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    campaign_id = new_campaign(db, settings)
    relayed = open_database(outage.url, migrate=False)
    daemon = Daemon(
        settings,
        relayed,
        clock=clock,
        backend_factory=lambda s: HookedBackend(sent, 0, lambda: None),
        executor=InlineExecutor(),
        reconcile_seconds=3600,  # reconciled by hand here
    )
    daemon.start()
    try:
        terminate_connections()
        db.engine.dispose()  # the test's own connections, too
        daemon.reconcile()  # connections dropped once: taken again without a word
        outage.down()
        daemon.reconcile()  # gone: one line, no traceback
        daemon.reconcile()  # still gone: nothing more
        with db.session() as session:  # meanwhile, directly
            # Far ahead: APScheduler reads the real time, and must not fire it here.
            schedule(session, campaign_id, clock() + timedelta(days=3650), now=clock())
        outage.up()
        # Back: the lock is taken again (the server may not have seen yet that the old
        # session is gone), and the campaign gets its timer.
        daemon.reconcile()
        assert not daemon.stop_event.is_set()
        assert daemon.scheduler.get_job(f"campaign-{campaign_id}", jobstore="default")
        with db.engine.connect() as other:
            lock = other.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY})
            assert lock.scalar() is False
    finally:
        daemon.stop()
        relayed.close()
    said = [r.getMessage() for r in mailer_log.records if "database" in r.getMessage()]
    assert len(said) == 2, said  # APScheduler's own warnings are held back too
    assert said[0].startswith("the database is out of reach (")
    assert said[0].endswith("); looking again every 3600 s")
    assert said[1] == "the database answers again"
    assert not any(r.exc_info for r in mailer_log.records)
