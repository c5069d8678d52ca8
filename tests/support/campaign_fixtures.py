"""The fixtures of a project that sends campaigns: the test project's settings with the
example article's donation box, a clock that tests move, a memory backend and the list
'weekly'. The campaigns and the scheduling tests take them into their conftest files (a
fixture defined or imported in a folder's conftest wins over the root's)."""

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
    """The test project's settings, with the donation call-to-action the example
    article asks for."""
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
