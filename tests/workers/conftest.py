"""Sending through workers runs on PostgreSQL only: every test here needs
MAILER_TEST_DATABASE_URL, and skips saying so without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailer.settings import Settings, load_settings
from mailer.storage import Database, open_database
from tests.support.config import append_config, write_config
from tests.support.database import PG_URL, reset_postgres
from tests.support.examples import DONATE


@pytest.fixture
def pg_url() -> str:
    if PG_URL is None:
        pytest.skip("sending through workers needs PostgreSQL: set MAILER_TEST_DATABASE_URL")
    reset_postgres(PG_URL, empty=False)
    return PG_URL


@pytest.fixture
def db(pg_url: str) -> Iterator[Database]:
    database = open_database(pg_url)
    yield database
    database.close()


@pytest.fixture
def config_path(tmp_path: Path, pg_url: str) -> Path:
    path = write_config(tmp_path, pg_url, dispatch='"procrastinate"', worker_stalled_seconds="2")
    return append_config(path, DONATE)


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(config_path)
