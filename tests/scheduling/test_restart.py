"""A real ``mailer run`` in a subprocess: scheduled, stopped before the time, started
again after it, and the campaign is sent exactly once. The later starts are told the
time with MAILER_FAKE_NOW instead of waiting for it."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mailer.campaigns import actions
from mailer.campaigns.schedule import schedule
from mailer.settings import Settings
from mailer.storage import Database
from mailer.storage.types import utcnow
from tests.support.examples import ARTICLE

pytestmark = pytest.mark.slow


class Run:
    """``mailer run`` in a subprocess, its log read line by line."""

    def __init__(self, config: Path, fake_now: str | None = None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
        if fake_now:
            env["MAILER_FAKE_NOW"] = fake_now
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailer",
                "--config",
                str(config),
                "run",
                "--reconcile",
                "0.2",
                # The scheduler is what is tried here; the web app would only add its
                # start to each of the three runs.
                "--no-web",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []

    def wait_for(self, text: str, timeout: float = 60) -> str:
        assert self.process.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = self.process.stderr.readline()
            if not line:
                break
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"never logged {text!r}:\n{''.join(self.log)}")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        _, rest = self.process.communicate(timeout=60)
        self.log.append(rest)
        assert self.process.returncode == 0, "".join(self.log)
        return "".join(self.log)


def test_scheduled_stopped_restarted_sent_once(
    db: Database, settings: Settings, weekly: list[str], config_path: Path
) -> None:
    now = utcnow()
    due = now + timedelta(hours=1)
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
        schedule(session, campaign_id, due, now=now)

    first = Run(config_path)
    first.wait_for("ready: 1 timers")
    first.stop()

    later = (due + timedelta(minutes=2)).isoformat()
    second = Run(config_path, fake_now=later)
    second.wait_for(f"campaign {campaign_id} is due since 2 min: sending it now")
    second.wait_for(f"campaign {campaign_id} is sent")
    second.stop()

    third = Run(config_path, fake_now=(due + timedelta(hours=2)).isoformat())
    third.wait_for("ready: 0 timers")
    log = third.stop()
    assert "sending" not in log

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
