"""The scheduler with an injected clock and sends run inline: no waiting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from mailer.campaigns import actions
from mailer.campaigns.records import campaign_view
from mailer.campaigns.schedule import schedule, unschedule
from mailer.campaigns.when import parse_when
from mailer.delivery.memory import MemoryBackend
from mailer.exceptions import InputError, StateError
from mailer.scheduling.daemon import Daemon
from mailer.settings import Settings
from mailer.storage import Database
from tests.support.clock import Clock, InlineExecutor
from tests.support.examples import ARTICLE


@pytest.fixture
def daemon(
    db: Database, settings: Settings, sent: list[EmailMessage], clock: Clock
) -> Iterator[Daemon]:
    running = Daemon(
        settings,
        db,
        clock=clock,
        backend_factory=lambda s: MemoryBackend(sent, {}),
        executor=InlineExecutor(),
        reconcile_seconds=3600,
    )
    yield running
    if running.scheduler.running:
        running.stop()


def new_campaign(db: Database, settings: Settings) -> int:
    with db.session() as session:
        return actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id


def status(db: Database, campaign_id: int) -> str:
    with db.session() as session:
        return campaign_view(session, campaign_id).campaign.status.value


def test_times_are_read_in_the_given_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_when("2026-12-01T09:00", berlin).isoformat() == "2026-12-01T09:00:00+01:00"
    assert parse_when("2026-12-01T09:00+00:00", berlin).utcoffset() == timedelta(0)
    with pytest.raises(InputError, match="does not exist in Europe/Berlin"):
        parse_when("2026-03-29T02:30", berlin)
    with pytest.raises(InputError, match="write it like 2026-12-01T09:00"):
        parse_when("next tuesday", berlin)


def test_scheduling_in_the_past_is_refused(
    db: Database, settings: Settings, weekly: list[str], clock: Clock
) -> None:
    campaign_id = new_campaign(db, settings)
    with db.session() as session, pytest.raises(InputError, match="is in the past"):
        schedule(session, campaign_id, clock.now - timedelta(minutes=1), now=clock.now)


def test_a_future_campaign_gets_a_persistent_timer_and_fires_when_due(
    db: Database, settings: Settings, weekly: list[str], daemon: Daemon, clock: Clock,
    sent: list[EmailMessage],
) -> None:  # fmt: skip
    campaign_id = new_campaign(db, settings)
    with db.session() as session:
        schedule(session, campaign_id, clock.now + timedelta(hours=2), now=clock.now)
    daemon.start()
    job = daemon.scheduler.get_job(f"campaign-{campaign_id}")
    assert job is not None
    assert job.next_run_time == clock.now + timedelta(hours=2)
    # The timer is in the database: another job store on it sees it.
    other = SQLAlchemyJobStore(engine=db.engine)
    other.start(daemon.scheduler, "default")
    assert [j.id for j in other.get_all_jobs()] == [f"campaign-{campaign_id}"]

    # The timer fires by the daemon's clock, not the machine's: move it on and wake
    # APScheduler up, then wait for the job to end.
    ended: list[JobEvent] = []
    done = threading.Event()

    def on_job(event: JobEvent) -> None:
        if event.job_id == f"campaign-{campaign_id}":
            ended.append(event)
            done.set()

    daemon.scheduler.add_listener(on_job, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    clock.sleep(7200)
    daemon.scheduler.wakeup()
    assert done.wait(timeout=30), "the timer did not fire"
    assert [e.code for e in ended] == [EVENT_JOB_EXECUTED]
    assert status(db, campaign_id) == "sent"
    assert len(sent) == len(weekly)
    assert daemon.scheduler.get_job(f"campaign-{campaign_id}") is None
    daemon.reconcile()  # nothing fires twice
    assert len(sent) == len(weekly)


def test_a_run_missed_while_nothing_ran_is_sent_late_and_says_so(
    db: Database, settings: Settings, weekly: list[str], daemon: Daemon, clock: Clock,
    sent: list[EmailMessage], caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    campaign_id = new_campaign(db, settings)
    with db.session() as session:
        schedule(session, campaign_id, clock.now + timedelta(minutes=5), now=clock.now)
    clock.sleep(3 * 3600)  # the machine was off
    with caplog.at_level(logging.INFO, logger="mailer"):
        daemon.start()
    assert status(db, campaign_id) == "sent"
    assert f"campaign {campaign_id} is due since 2 h 55 min: sending it now" in caplog.text


def test_unscheduling_removes_the_timer(
    db: Database, settings: Settings, weekly: list[str], daemon: Daemon, clock: Clock
) -> None:
    campaign_id = new_campaign(db, settings)
    with db.session() as session:
        schedule(session, campaign_id, clock.now + timedelta(hours=1), now=clock.now)
    daemon.start()
    assert daemon.scheduler.get_job(f"campaign-{campaign_id}") is not None
    with db.session() as session:
        unschedule(session, campaign_id, now=clock.now)
    daemon.reconcile()
    assert daemon.scheduler.get_job(f"campaign-{campaign_id}") is None
    assert status(db, campaign_id) == "draft"


def test_a_second_scheduler_on_the_same_database_is_refused(
    db: Database, settings: Settings, daemon: Daemon, clock: Clock
) -> None:
    daemon.start()
    second = Daemon(settings, db, clock=clock, executor=InlineExecutor())
    with pytest.raises(StateError, match="already schedules for this database"):
        second.start()
    daemon.stop()
    second.start()
    second.stop()


def test_a_campaign_left_sending_resumes_on_start(
    db: Database, settings: Settings, weekly: list[str], daemon: Daemon, clock: Clock,
    sent: list[EmailMessage],
) -> None:  # fmt: skip
    import threading

    from mailer.campaigns.sender import CampaignSender

    campaign_id = new_campaign(db, settings)
    stop = threading.Event()

    class StopAfterOne(MemoryBackend):
        def send_batch(self, batch):  # type: ignore[no-untyped-def]
            results = super().send_batch(batch)
            stop.set()
            return results

    first = CampaignSender(db, settings, StopAfterOne(sent, {}), batch_size=10, clock=clock,
                           stop=stop, release_on_stop=True)  # fmt: skip
    outcome = first.send(campaign_id)
    assert (outcome.status.value, len(sent)) == ("sending", 10)
    daemon.start()
    assert status(db, campaign_id) == "sent"
    assert sorted(m["To"].addresses[0].addr_spec for m in sent) == sorted(weekly)


def test_stop_does_not_wait_for_ever_on_a_reconcile_halfway(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    # APScheduler's shutdown holds its job-store lock while it waits for running jobs;
    # a reconcile job that reached for the job store just then used to hang `mailer run`
    # on SIGTERM (seen in the restart test about one run in five).
    daemon.start()
    real_get_jobs = daemon.scheduler.get_jobs
    entered = threading.Event()

    def get_jobs_when_stopping(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        daemon.stop_event.wait(timeout=20)
        return real_get_jobs(*args, **kwargs)

    monkeypatch.setattr(daemon.scheduler, "get_jobs", get_jobs_when_stopping)
    daemon.scheduler.add_job(daemon.reconcile, jobstore="internal")
    assert entered.wait(timeout=20), "the reconcile job did not run"
    stopping = threading.Thread(target=daemon.stop)
    stopping.start()
    stopping.join(timeout=20)
    assert not stopping.is_alive(), "stop() hangs while a reconcile job is running"
