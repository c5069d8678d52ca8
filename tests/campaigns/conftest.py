"""A project with a list of subscribers, a clock that tests move, and a memory backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings, load_settings
from mailer.storage import Database
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARTICLE = EXAMPLES / "article.md"


@dataclass
class Clock:
    """Now, moved on by ``sleep`` and by tests, never by waiting."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    slept: float = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """Moves on by ``seconds`` at once, in one step: in a test nothing happens while
        time jumps, so a wait that ``until`` may end is ended only by what was true before
        it (a pause the test made), never wakes up every few seconds on the way."""
        if until is not None and until():
            return
        self.slept += seconds
        self.now += timedelta(seconds=seconds)

    def seconds(self) -> float:
        """Now as seconds, for what takes a monotonic clock (a RateLimiter)."""
        return self.now.timestamp()


DONATE = """
[cta.donate]
heading = "Independent news needs you"
text = "Our reporting is paid for by readers."
button_label = "Donate"
url = "https://give.example-times.org/donate"
amounts = [5, 10, 25]
"""


@pytest.fixture
def settings(config_path: Path) -> Settings:
    """The test project's settings, with the donation call-to-action the example
    article asks for."""
    config_path.write_text(config_path.read_text() + DONATE, encoding="utf-8")
    return load_settings(config_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sent() -> list[EmailMessage]:
    return []


@pytest.fixture
def backend(sent: list[EmailMessage]) -> MemoryBackend:
    return MemoryBackend(sent, {})


def add_people(db: Database, list_name: str, count: int, **extra: object) -> list[str]:
    emails = [f"reader{i:03d}@example.org" for i in range(count)]
    with db.session() as session:
        for i, email in enumerate(emails):
            add_subscriber(session, email, list_name, name=f"Reader {i}", **extra)  # type: ignore[arg-type]
    return emails


@pytest.fixture
def weekly(db: Database, settings: Settings) -> list[str]:
    """A list 'weekly' with 25 confirmed readers."""
    with db.session() as session:
        create_list(session, "weekly")
    return add_people(db, "weekly", 25)
