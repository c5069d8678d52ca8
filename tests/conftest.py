"""Shared fixtures.

``database_url`` is a fresh SQLite file, and also a fresh PostgreSQL schema when
``MAILER_TEST_DATABASE_URL`` is set: every test that asks for it runs on both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from typer.testing import CliRunner

from mailer.cli import app
from mailer.cli.project import CONFIG_TEMPLATE
from mailer.settings import Settings, load_settings
from mailer.storage import Database, open_database


def _worker_database(url: str | None) -> str | None:
    """The PostgreSQL database of this test process: with pytest-xdist each worker gets
    a database of its own beside the one named (``test`` → ``test_gw0``), made on first
    use, so that workers never reset each other's schema."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if url is None or worker is None:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if exists is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _worker_database(os.environ.get("MAILER_TEST_DATABASE_URL"))
#: A sender for tests of real-mail backends (smtp, sendgrid), which refuse one at
#: example.org; a made-up domain, never looked up or mailed.
SENDER = "newsletter@example-times.org"
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        assert PG_URL is not None
        _reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'var' / 'mailer.db'}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = open_database(database_url)
    yield database
    database.close()


def write_config(folder: Path, database_url: str, **extra: str) -> Path:
    """A mailer.toml like ``mailer init`` writes, on the given database."""
    text_ = CONFIG_TEMPLATE.format(
        base_url="https://news.example.org",
        secret_key="test-secret-key-0123456789abcdef",
        publisher_name="The Example Times",
        from_address="newsletter@example.org",
        postal_address="1 Example Street, Springfield",
        timezone="Europe/Berlin",
    )
    # Tests add the calls-to-action they need: the template's own (init's placeholder
    # donate box, its last table) is left out.
    text_ = text_.partition("\n[cta.donate]\n")[0]
    # Top-level keys go before any table; a key the template sets is replaced.
    lines = text_.splitlines()
    for key, value in {"database_url": f'"{database_url}"', **extra}.items():
        line = f"{key} = {value}"
        at = next((i for i, old in enumerate(lines) if old.startswith(f"{key} =")), None)
        if at is None:
            lines.insert(0, line)
        else:
            lines[at] = line
    text_ = "\n".join(lines) + "\n"
    path = folder / "mailer.toml"
    path.write_text(text_, encoding="utf-8")
    return path


@pytest.fixture
def config_path(tmp_path: Path, database_url: str) -> Path:
    return write_config(tmp_path, database_url)


@pytest.fixture
def settings(config_path: Path) -> Settings:
    return load_settings(config_path)


@dataclass
class Cli:
    """Runs ``mailer`` in-process against the test project."""

    config: Path

    def __call__(self, *args: str, input: str | None = None, ok: bool = True) -> CliResult:
        result = CliRunner().invoke(app, ["--config", str(self.config), *args], input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        outcome = CliResult(result.exit_code, result.stdout, result.stderr)
        if ok and result.exit_code != 0:
            raise AssertionError(f"mailer {' '.join(args)} exited {result.exit_code}:\n{outcome}")
        return outcome


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"


@pytest.fixture
def cli(config_path: Path) -> Cli:
    return Cli(config_path)
