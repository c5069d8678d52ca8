"""Choosing a backend by the ``backend`` setting, and the delivery settings' checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailer.delivery.backends import BACKENDS, get_backend
from mailer.delivery.base import Backend
from mailer.delivery.memory import MemoryBackend
from mailer.delivery.outbox import OutboxBackend
from mailer.delivery.sendgrid import SendGridBackend
from mailer.delivery.smtp import SmtpBackend
from mailer.exceptions import ConfigError
from mailer.settings import Settings, load_settings
from tests.support.keys import DkimKey


def load(tmp_path: Path, **values: str) -> Settings:
    lines = ['secret_key = "test-secret-key-0123456789abcdef"']
    lines += [f"{key} = {value}" for key, value in values.items()]
    path = tmp_path / "mailer.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(path)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ({}, OutboxBackend),
        ({"backend": '"memory"'}, MemoryBackend),
        ({"backend": '"smtp"', "smtp_url": '"smtp://127.0.0.1:2525"'}, SmtpBackend),
        ({"backend": '"sendgrid"', "sendgrid_api_key": '"SG.x"'}, SendGridBackend),
    ],
)
def test_the_backend_setting_picks_the_backend(
    tmp_path: Path, values: dict[str, str], kind: type[Backend]
) -> None:
    backend = get_backend(load(tmp_path, **values))
    assert type(backend) is kind
    assert set(BACKENDS) == {"outbox", "smtp", "sendgrid", "memory"}


def test_the_outbox_is_under_the_config_folder(tmp_path: Path) -> None:
    backend = get_backend(load(tmp_path))
    assert isinstance(backend, OutboxBackend)
    assert backend.folder == tmp_path / "var" / "outbox"


def test_smtp_needs_a_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="smtp_url: missing"):
        get_backend(load(tmp_path, backend='"smtp"'))


def test_the_smtp_concurrency_setting_is_used_unless_the_url_says(tmp_path: Path) -> None:
    settings = load(tmp_path, backend='"smtp"', smtp_url='"smtp://h:25"', smtp_concurrency="12")
    backend = get_backend(settings)
    assert isinstance(backend, SmtpBackend)
    assert backend.concurrency == 12


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"smtp_url": '"smtp://user:secret@h:25?starttls=maybe"'}, "smtp_url: has starttls="),
        ({"smtp_url": '"mail.example.org"'}, "smtp_url: must start with smtp://"),
        ({"smtp_concurrency": "0"}, "smtp_concurrency"),
        ({"rate_per_second": "0"}, "rate_per_second"),
        ({"rate_per_hour": "-5"}, "rate_per_hour"),
        ({"sendgrid_host": '"api.sendgrid.com"'}, "sendgrid_host"),
        ({"dkim_selector": '"s1"'}, "needs all of dkim_private_key, dkim_selector and dkim_domain"),
        (
            {
                "dkim_private_key": '"missing.pem"',
                "dkim_selector": '"s1"',
                "dkim_domain": '"example.org"',
            },
            "dkim_private_key: cannot read",
        ),
        (
            {"dkim_private_key": '"k"', "dkim_selector": '"s 1"', "dkim_domain": '"example.org"'},
            "dkim_selector: must be a DNS name",
        ),
    ],
)
def test_wrong_delivery_settings_are_config_errors(
    tmp_path: Path, values: dict[str, str], error: str
) -> None:
    with pytest.raises(ConfigError, match=error) as caught:
        load(tmp_path, **values)
    assert "secret" not in str(caught.value).replace("secret_key", "")


def test_a_dkim_key_may_be_given_as_pem_text(tmp_path: Path, dkim_key: DkimKey) -> None:
    pem = dkim_key.private_pem.decode()
    settings = load(
        tmp_path,
        dkim_private_key=f'"""{pem}"""',
        dkim_selector='"s2024"',
        dkim_domain='"example.org"',
    )
    assert settings.dkim_private_key is not None
    assert "BEGIN" not in repr(settings)
