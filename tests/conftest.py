"""Shared fixtures.

``database_url`` is a fresh SQLite file, and also a fresh PostgreSQL schema when
``MAILER_TEST_DATABASE_URL`` is set: every test that asks for it runs on both. The
stand-ins that several folders' tests talk to (TLS and DKIM keys, a fake SendGrid)
are here too; the helpers behind them are in tests/support.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from mailer.accounts import passwords
from mailer.settings import Settings, load_settings
from mailer.storage import Database, open_database
from tests.support.cli import Cli
from tests.support.config import write_config
from tests.support.database import BACKENDS, PG_URL, migrated_sqlite, reset_postgres, sqlite_at_head
from tests.support.keys import DkimKey, Tls, make_dkim_key, make_tls
from tests.support.sendgrid import FakeSendGrid


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (subprocesses, a browser) first, in their order: xdist hands the
    tests out in collection order, and tests/workers, whose two run 15 and 25 s, came
    last, so that one worker went on with them alone after the other had finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its lowest cost: the admin's tests sign in hundreds of times, and a
    hash at the real cost takes a twentieth of a second. tests/accounts checks the real
    parameters."""
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: hasher)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once for the session, copied for each test."""
    return migrated_sqlite(tmp_path_factory.mktemp("template"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "postgresql":
        assert PG_URL is not None
        # Tests of migrations themselves (marked empty_database) get an empty schema.
        reset_postgres(PG_URL, empty=request.node.get_closest_marker("empty_database") is not None)
        return PG_URL
    path = tmp_path / "var" / "mailer.db"
    if request.node.get_closest_marker("empty_database") is not None:
        return f"sqlite:///{path}"
    return sqlite_at_head(sqlite_template, path)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.close()


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    return write_config(tmp_path, database_url)


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(config_path)


@pytest.fixture
def cli(config_path: Path) -> Cli:
    return Cli(config_path)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def dkim_key() -> DkimKey:
    return make_dkim_key()


@pytest.fixture
def sendgrid_server() -> Iterator[FakeSendGrid]:
    server = FakeSendGrid()
    yield server
    server.stop()
