"""A project with calls-to-action, and the example article."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.articles import Article, load_article
from mailer.settings import Settings, load_settings
from tests.support.config import append_config
from tests.support.database import sqlite_at_head
from tests.support.examples import ARTICLE
from tests.support.rendering import CTAS


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: rendering stores nothing, and reads a list's title at most, through
    functions that tests/subscribers runs on PostgreSQL too. Run on both here, the
    commands' subprocesses cost a quarter of a minute and found nothing more."""
    return sqlite_at_head(sqlite_template, tmp_path / "var" / "mailer.db")


@pytest.fixture
def cta_config(config_path: Path) -> Path:
    return append_config(config_path, CTAS)


@pytest.fixture
def cta_settings(cta_config: Path) -> Settings:
    return load_settings(cta_config)


@pytest.fixture
def article() -> Article:
    return load_article(ARTICLE)
