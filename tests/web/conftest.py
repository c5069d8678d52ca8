"""The web app in-process: httpx talks to it through its ASGI transport, at the test
project's https base URL, with a clock that tests move, a memory backend whose outbox
tests read, an API token, and a key pair that signs webhooks as SendGrid would. The
helpers (tokens, pages, the sent campaign) are in tests/support."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI

from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings, load_settings
from mailer.storage import Database
from mailer.subscribers.lists import create_list
from mailer.web.app import create_app
from tests.support.clock import Clock
from tests.support.config import append_config, write_config
from tests.support.examples import DONATE
from tests.support.keys import make_signing_key, public_key_text
from tests.support.web import API_TOKEN, Sent, send_to_readers, serving


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return make_signing_key()


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, signing_key: ec.EllipticCurvePrivateKey
) -> Settings:
    path = write_config(
        tmp_path,
        database_url,
        api_token=f'"{API_TOKEN}"',
        sendgrid_webhook_public_key=f'"{public_key_text(signing_key)}"',
    )
    return load_settings(append_config(path, DONATE))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox() -> list[EmailMessage]:
    return []


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock, outbox: list[EmailMessage]) -> FastAPI:
    return create_app(settings, db, clock=clock, backend=lambda s: MemoryBackend(outbox, {}))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as client:
        yield client


@pytest.fixture
def lists(db: Database) -> None:
    """'weekly' (double opt-in, titled "The Weekly") and 'daily' (single opt-in, titled
    "The Daily"), both empty."""
    with db.session() as session:
        create_list(session, "weekly", title="The Weekly", double_opt_in=True)
        create_list(session, "daily", title="The Daily")


@pytest.fixture
def sent(db: Database, settings: Settings, clock: Clock) -> Sent:
    """A campaign sent to three readers of 'readers' (titled "The Morning Post")."""
    return send_to_readers(db, settings, clock)
