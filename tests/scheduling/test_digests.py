"""Recurring digests: new items, no new item, a broken feed, and the cron timer."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailer.delivery.memory import MemoryBackend
from mailer.exceptions import InputError
from mailer.scheduling.daemon import Daemon
from mailer.scheduling.digests import create_digest, run_digest
from mailer.settings import Settings
from mailer.storage import Database
from tests.support.cli import Cli
from tests.support.clock import Clock, InlineExecutor
from tests.support.examples import EXAMPLES


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "feed.xml"
    shutil.copy(EXAMPLES / "feed.xml", path)
    return path


def test_a_digest_sends_new_items_once(
    cli: Cli, settings: Settings, weekly: list[str], feed: Path
) -> None:
    cli("digests", "create", "tuesday", "--feed", str(feed), "--list", "weekly",
        "--cron", "0 9 * * TUE", "--tz", "Europe/Berlin", "--max-items", "2")  # fmt: skip
    listed = json.loads(cli("digests", "ls", "--json").stdout)
    assert listed[0]["next_run"].endswith("+01:00")
    assert json.loads(cli("jobs", "ls", "--json").stdout)[0]["job"] == "digest tuesday"

    first = cli("digests", "run", "tuesday").stdout
    assert "2 new items, campaign 1" in first
    assert "campaign 1 is sent" in first
    second = cli("digests", "run", "tuesday").stdout
    assert "new items, campaign 2" in second  # the items left over
    third = cli("digests", "run", "tuesday").stdout
    assert "no new items, nothing sent" in third
    shown = json.loads(cli("digests", "show", "tuesday", "--json").stdout)
    assert shown["last_result"] == "no new items"
    sent = list(settings.outbox_dir.glob("*.eml"))
    assert len(sent) == 2 * len(weekly)


def test_a_broken_feed_is_reported_and_tried_again(cli: Cli, weekly: list[str], feed: Path) -> None:
    cli("digests", "create", "d", "--feed", str(feed), "--list", "weekly", "--cron", "0 9 * * *")
    feed.write_text("<rss><channel><item><title>broken")
    broken = cli("digests", "run", "d", ok=False)
    assert broken.exit_code == 1
    assert "the feed could not be read" in broken.stdout
    assert json.loads(cli("digests", "show", "d", "--json").stdout)["last_error"]
    feed.write_text((EXAMPLES / "feed.xml").read_text())
    assert "new items, campaign 1" in cli("digests", "run", "d").stdout
    assert json.loads(cli("digests", "show", "d", "--json").stdout)["last_error"] == ""


def test_bad_digest_settings(db: Database, settings: Settings, weekly: list[str]) -> None:
    with db.session() as session, pytest.raises(InputError, match="is not a crontab line"):
        create_digest(
            session, settings, "x", feed="f.xml", list_name="weekly", cron="every tuesday"
        )


def test_the_daemon_runs_digests_on_their_cron(
    db: Database, settings: Settings, weekly: list[str], feed: Path, sent: list[EmailMessage]
) -> None:
    with db.session() as session:
        create_digest(session, settings, "daily", feed=str(feed), list_name="weekly",
                      cron="0 9 * * *", timezone="Europe/Berlin")  # fmt: skip
    clock = Clock(now=datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    daemon = Daemon(settings, db, clock=clock, backend_factory=lambda s: MemoryBackend(sent, {}),
                    executor=InlineExecutor(), reconcile_seconds=3600)  # fmt: skip
    daemon.start()
    try:
        job = daemon.scheduler.get_job("digest-daily")
        assert job is not None
        # 09:00 in Berlin, the next one by the daemon's clock
        assert job.next_run_time == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        daemon.run_digest("daily")  # what the timer calls
        assert len(sent) == len(weekly)
        daemon.run_digest("daily")
        assert len(sent) == len(weekly)
        run = run_digest(db, settings, "daily")
        assert run.campaign_id is None
    finally:
        daemon.stop()
