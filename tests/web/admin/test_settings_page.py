"""The settings in force, read-only, grouped as the config file groups them, each with
its description, and no secret shown."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from mailer.settings import Settings
from mailer.settings.template import SECTIONS
from mailer.web.admin.settings_page import MASK, masked
from tests.support.admin import shown
from tests.support.web import API_TOKEN

pytestmark = pytest.mark.anyio


async def test_the_settings_by_section_with_descriptions_and_no_secrets(
    as_viewer: httpx.AsyncClient, settings: Settings
) -> None:
    answer = await as_viewer.get("/admin/settings")
    assert answer.status_code == 200
    text = shown(answer.text)
    for section in SECTIONS:
        assert section.title in text
    assert settings.base_url in text
    assert "The sender address" in text or "from_address" in text
    for secret in (API_TOKEN, settings.secret_key.get_secret_value()):
        assert secret not in answer.text
    assert MASK in text
    assert "<form" not in answer.text.split('<main id="main"')[1]


def test_what_is_masked() -> None:
    smtp = SecretStr("smtp://mailer:hunter2@smtp.example.org:587")
    assert masked("smtp_url", smtp, "**") == f"smtp://mailer:{MASK}@smtp.example.org:587"
    assert masked("api_token", SecretStr("abc"), "**") == f"{MASK} (set)"
    assert masked("sendgrid_api_key", None, None) == "(not set)"
    assert masked("dkim_private_key", "/keys/dkim.pem", "/keys/dkim.pem") == f"{MASK} (set)"
    url = "postgresql+psycopg://app:s3cret@db/mailer"
    assert masked("database_url", url, url) == f"postgresql+psycopg://app:{MASK}@db/mailer"
    assert masked("rate_per_second", 10, 10) == "10"
