"""A real ``mailer run`` in a subprocess: scheduled, stopped before the time, started
again after it, and the campaign is sent exactly once. The later starts are told the
time with MAILER_FAKE_NOW instead of waiting for it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
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

pytestmark = pytest.mark.slow


class Run:
    """``mailer run`` in a subprocess, its log read line by line."""

    def __init__(self, config: Path, fake_now: str | None = None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
        # A run that does not stop prints every thread's stack when killed with SIGABRT.
        env["PYTHONFAULTHANDLER"] = "1"
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
        # A thread reads the log: a selector on the pipe would not see the lines that
        # one read took into the file's buffer beside the one asked for.
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"never logged {text!r}:\n{''.join(self.log)}")

    def kill(self) -> None:
        """What a failed test leaves running is stopped, its pipe closed."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)
        self.reader.join(timeout=60)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def _stacks(self) -> str:
        """The stacks of a run that did not stop, and the log before them."""
        self.process.send_signal(signal.SIGABRT)
        self.process.wait(timeout=60)
        self.reader.join(timeout=60)
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return "".join(self.log)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"mailer run did not stop:\n{self._stacks()}") from None
        self.reader.join(timeout=60)
        assert self.process.stderr is not None
        self.process.stderr.close()
        while not self.lines.empty():
            self.log.append(self.lines.get())
        assert self.process.returncode == 0, "".join(self.log)
        return "".join(self.log)


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill()


def test_scheduled_stopped_restarted_sent_once(
    db: Database, settings: Settings, weekly: list[str], config_path: Path, runs: list[Run]
) -> None:
    now = utcnow()
    due = now + timedelta(hours=1)
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
        schedule(session, campaign_id, due, now=now)

    runs.append(first := Run(config_path))
    first.wait_for("ready: 1 timers")
    first.stop()

    later = (due + timedelta(minutes=2)).isoformat()
    runs.append(second := Run(config_path, fake_now=later))
    second.wait_for(f"campaign {campaign_id} is due since 2 min: sending it now")
    second.wait_for(f"campaign {campaign_id} is sent")
    second.stop()

    runs.append(third := Run(config_path, fake_now=(due + timedelta(hours=2)).isoformat()))
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
