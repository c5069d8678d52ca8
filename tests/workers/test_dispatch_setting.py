"""dispatch = "procrastinate" is PostgreSQL's: on SQLite the settings say so at once;
a job carries the sender's settings that make its messages, and no others."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from mailer.exceptions import ConfigError
from mailer.settings import load_settings
from mailer.workers.queue import conninfo, shared, with_shared
from tests.support.config import make_settings, write_config


def test_the_queue_needs_postgresql(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", dispatch='"procrastinate"')
    with pytest.raises(ConfigError, match=r'dispatch = "procrastinate" needs a PostgreSQL'):
        load_settings(config)


def test_libpq_gets_the_url_without_sqlalchemys_driver() -> None:
    url = "postgresql+psycopg://mailer:pw@db.internal:5433/news?sslmode=require"
    assert conninfo(url) == "postgresql://mailer:pw@db.internal:5433/news?sslmode=require"


def test_a_job_carries_what_makes_the_messages_and_no_secret(tmp_path: Path) -> None:
    sender = make_settings(
        tmp_path,
        base_url="https://news.example.org",
        backend="smtp",
        smtp_url="smtp://user:secret@mail.example.org:587",
        utm_source="weekly",
    )
    carried = shared(sender)
    assert carried["base_url"] == "https://news.example.org"
    assert carried["utm_source"] == "weekly"
    assert "secret" not in repr(carried)
    worker = make_settings(tmp_path / "w", smtp_url=SecretStr("smtp://w:pw@127.0.0.1:25"))
    combined = with_shared(worker, carried)
    assert (combined.backend, combined.utm_source) == ("smtp", "weekly")
    assert combined.smtp_url is not None
    assert combined.smtp_url.get_secret_value() == "smtp://w:pw@127.0.0.1:25"
    with pytest.raises(ConfigError, match="dkim_private_key"):
        with_shared(worker, {**carried, "dkim_selector": "mail", "dkim_domain": "example.org"})
