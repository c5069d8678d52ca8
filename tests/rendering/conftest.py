"""A project with calls-to-action, and the example article."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.articles import Article, load_article
from mailer.settings import Settings, load_settings
from tests.support.config import append_config
from tests.support.examples import ARTICLE
from tests.support.rendering import CTAS


@pytest.fixture
def cta_config(config_path: Path) -> Path:
    return append_config(config_path, CTAS)


@pytest.fixture
def cta_settings(cta_config: Path) -> Settings:
    return load_settings(cta_config)


@pytest.fixture
def article() -> Article:
    return load_article(ARTICLE)
