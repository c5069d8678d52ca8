"""The campaigns tests' project (tests/campaigns/conftest.py), for the daemon that sends
its campaigns: the example article's donation box, a clock that tests move, a memory
backend and the list 'weekly'. Each fixture is one call to tests/support, so the two
folders say the same thing without one conftest importing the other."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings, load_settings
from mailer.storage import Database
from tests.support.clock import Clock
from tests.support.config import append_config
from tests.support.examples import DONATE
from tests.support.readers import weekly_list


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(append_config(config_path, DONATE))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sent() -> list[EmailMessage]:
    return []


@pytest.fixture
def backend(sent: list[EmailMessage]) -> MemoryBackend:
    return MemoryBackend(sent, {})


@pytest.fixture
def weekly(db: Database, settings: Settings) -> list[str]:
    """A list 'weekly' with 25 confirmed readers."""
    return weekly_list(db)
