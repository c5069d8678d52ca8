"""The web app in-process: httpx talks to it through its ASGI transport, at the test
project's https base URL, with a clock that tests move, a memory backend whose outbox
tests read, an API token, and a key pair that signs webhooks as SendGrid would."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlalchemy import select

from mailer.campaigns.records import create_campaign
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.memory import MemoryBackend
from mailer.events.sendgrid import SIGNATURE_HEADER, TIMESTAMP_HEADER
from mailer.settings import Settings, load_settings
from mailer.storage import Campaign, Database, Delivery, Subscriber
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from mailer.tokens import TokenData, sign
from mailer.web.app import create_app
from tests.campaigns.conftest import ARTICLE, DONATE, Clock
from tests.conftest import write_config

BASE = "https://news.example.org"
SECRET = "test-secret-key-0123456789abcdef"
API_TOKEN = "api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def public_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as SendGrid shows it: base64 of its DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def signed_headers(key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers SendGrid sends with ``body``: an ECDSA signature of timestamp + body."""
    signature = key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: str(timestamp),
        "content-type": "application/json",
    }


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


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
    path.write_text(path.read_text() + DONATE, encoding="utf-8")
    return load_settings(path)


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
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture
def lists(db: Database) -> None:
    """'weekly' (double opt-in, titled "The Weekly") and 'daily' (single opt-in, titled
    "The Daily"), both empty."""
    with db.session() as session:
        create_list(session, "weekly", title="The Weekly", double_opt_in=True)
        create_list(session, "daily", title="The Daily")


def shown(page: str) -> str:
    """What a reader sees of a page's body: its text without tags, entities decoded,
    spaces collapsed."""
    body = page.split("<main>", 1)[-1]
    inline = re.sub(r"</?(?:a|strong|em|span)\b[^>]*>", "", body)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def form_token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page has no form token"
    return found.group(1)


def mail_link(message: EmailMessage, path: str) -> str:
    """The first link to ``path`` in a mail's text part, relative to the site."""
    part = message.get_body(("plain",))
    assert part is not None
    found = re.search(re.escape(BASE + path) + r"\S+", part.get_content())
    assert found is not None, f"no {path} link in the mail"
    return found.group(0).removeprefix(BASE)


def token(purpose: str, subscriber_id: int, list_id: int, extra: str = "", **kw: int) -> str:
    return sign(SECRET, TokenData(purpose, subscriber_id, list_id, extra=extra, **kw))


@dataclass
class Sent:
    """A campaign sent to three readers of 'readers' (titled "The Morning Post")."""

    campaign_id: int
    uid: str
    # Each reader's address, subscriber id and ledger row id.
    readers: list[tuple[str, int, int]]
    list_id: int
    # What the readers got, in the order sent.
    messages: list[EmailMessage]


LINKS = [
    "https://news.example.org/story?utm_source=the-example-times&utm_medium=email",
    "https://give.example-times.org/donate?amount=10&utm_medium=email&utm_content=donate",
    "https://give.example-times.org/donate?amount=25&utm_medium=email&utm_content=donate",
]


@pytest.fixture
def sent(db: Database, settings: Settings, clock: Clock) -> Sent:
    emails = ["reader0@example.org", "reader1@example.org", "reader2@example.org"]
    with db.session() as session:
        mailing_list = create_list(session, "readers", title="The Morning Post")
        for number, email in enumerate(emails):
            add_subscriber(session, email, "readers", name=f"Reader Number{number}")
        campaign = create_campaign(
            session, settings, article=str(ARTICLE), lists=["readers"], now=clock.now
        )
        campaign_id, uid, list_id = campaign.id, campaign.uid, mailing_list.id
    messages: list[EmailMessage] = []
    CampaignSender(db, settings, MemoryBackend(messages, {}), clock=clock, sleep=clock.sleep).send(
        campaign_id
    )
    with db.session() as session:
        campaign = session.get_one(Campaign, campaign_id)
        campaign.links = list(LINKS)
        rows = session.execute(
            select(Subscriber.email, Subscriber.id, Delivery.id)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
            .order_by(Subscriber.email)
        ).all()
    return Sent(campaign_id, uid, [(e, s, d) for e, s, d in rows], list_id, messages)
