"""kill -9 in the middle of a campaign, then resume: nobody gets it twice, and whoever
might have got it while the sender died is listed as unknown."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mailer.campaigns import actions
from mailer.settings import Settings
from mailer.storage import Database
from tests.support.config import SENDER
from tests.support.examples import ARTICLE
from tests.support.smtp import LoopbackController

pytestmark = pytest.mark.slow


@dataclass
class BlockingSink:
    """Accepts messages until ``block_after`` of them, then holds every further one
    until released, as a server would that hangs while the sender dies."""

    block_after: int
    accepted: list[str] = field(default_factory=list)
    reached: threading.Event = field(default_factory=threading.Event)
    released: asyncio.Event | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.released is None:
            self.released = asyncio.Event()
        if len(self.accepted) >= self.block_after:
            self.reached.set()
            await self.released.wait()
            return "451 4.3.0 try again"
        self.accepted.extend(envelope.rcpt_tos)
        if len(self.accepted) >= self.block_after:
            self.reached.set()
        return "250 OK"


def _mailer(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILER_")}
    return subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_campaign_then_resume(
    db: Database, settings: Settings, weekly: list[str], config_path: Path
) -> None:
    sink = BlockingSink(block_after=12)
    controller = LoopbackController(sink, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        port = controller.port
        text = config_path.read_text()
        text = text.replace('backend = "outbox"', 'backend = "smtp"')
        text = f'smtp_url = "smtp://127.0.0.1:{port}?concurrency=1"\nsend_batch_size = 5\n' + text
        config_path.write_text(text)
        with db.session() as session:
            # Real mail needs a sender at a domain of one's own (not example.org).
            campaign_id = actions.create(
                session, settings, article=str(ARTICLE), lists=["weekly"], from_address=SENDER
            ).id

        sending = _mailer(config_path, "campaigns", "send", str(campaign_id))
        assert sink.reached.wait(timeout=60), sending.communicate()
        sending.send_signal(signal.SIGKILL)
        sending.communicate(timeout=30)
        assert sink.released is not None
        controller.loop.call_soon_threadsafe(sink.released.set)
        sink.block_after = 10**6  # the server is well again

        resumed = _mailer(config_path, "campaigns", "resume", str(campaign_id))
        out, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, err
        shown = _mailer(config_path, "campaigns", "show", str(campaign_id), "--json")
        out, err = shown.communicate(timeout=60)
        data = json.loads(out)
    finally:
        controller.stop()

    received = Counter(sink.accepted)
    assert max(received.values()) == 1, "somebody got the campaign twice"
    unknown = data["deliveries"]["unknown"]
    assert data["status"] == "sent"
    assert data["deliveries"]["sent"] + unknown == len(weekly)
    assert unknown == 5  # the batch in flight when the sender died
    # Everyone either received it exactly once or is listed as unknown.
    assert len(received) >= len(weekly) - unknown
    assert set(received) <= set(weekly)
