"""A real ``mailer run`` in a subprocess: scheduled, stopped before the time, started
again after it, and the campaign is sent exactly once. The later starts are told the
time with MAILER_FAKE_NOW instead of waiting for it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mailer.campaigns import actions
from mailer.campaigns.schedule import schedule
from mailer.settings import Settings
from mailer.storage import Database
from mailer.storage.types import utcnow
from tests.support.examples import ARTICLE
from tests.support.processes import MailerProcess, clean_environment

pytestmark = pytest.mark.slow


def mailer_run(config: Path, fake_now: str | None = None) -> MailerProcess:
    """``mailer run``; later starts are told the time with MAILER_FAKE_NOW."""
    env = clean_environment(**({"MAILER_FAKE_NOW": fake_now} if fake_now else {}))
    return MailerProcess(
        "--config", str(config), "run", "--reconcile", "0.2",
        # The scheduler is what is tried here; the web app would only add its start to
        # each of the three runs.
        "--no-web",
        env=env,
    )  # fmt: skip


@pytest.fixture
def runs() -> Iterator[list[MailerProcess]]:
    started: list[MailerProcess] = []
    yield started
    for run in started:
        run.kill()


def test_scheduled_stopped_restarted_sent_once(
    db: Database,
    settings: Settings,
    weekly: list[str],
    config_path: Path,
    runs: list[MailerProcess],
) -> None:
    now = utcnow()
    due = now + timedelta(hours=1)
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
        schedule(session, campaign_id, due, now=now)

    runs.append(first := mailer_run(config_path))
    first.wait_for("ready: 1 timers")
    assert first.stop() == 0, first.output

    later = (due + timedelta(minutes=2)).isoformat()
    runs.append(second := mailer_run(config_path, fake_now=later))
    second.wait_for(f"campaign {campaign_id} is due since 2 min: sending it now")
    second.wait_for(f"campaign {campaign_id} is sent")
    assert second.stop() == 0, second.output

    runs.append(third := mailer_run(config_path, fake_now=(due + timedelta(hours=2)).isoformat()))
    third.wait_for("ready: 0 timers")
    assert third.stop() == 0, third.output
    assert "sending" not in third.output

    shown = subprocess.run(
        [sys.executable, "-m", "mailer", "--config", str(config_path), "campaigns", "show",
         str(campaign_id), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(shown.stdout)
    assert data["status"] == "sent"
    assert data["deliveries"]["sent"] == len(weekly)
    outbox = list(settings.outbox_dir.glob("*.eml"))
    assert len(outbox) == len(weekly)
