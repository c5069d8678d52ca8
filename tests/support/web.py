"""The web app's test project: its base URL, API token and reader tokens, and a
campaign sent to three readers, whose links and ledger rows the web tests follow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage

import anyio
import httpx
from fastapi import FastAPI
from sqlalchemy import select

from mailer.campaigns import actions
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import Campaign, Database, Delivery, Subscriber
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from mailer.tokens import TokenData, sign
from tests.support.clock import Clock
from tests.support.config import SECRET
from tests.support.examples import ARTICLE

BASE = "https://news.example.org"
API_TOKEN = "api-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@asynccontextmanager
async def serving(app: FastAPI, base_url: str = BASE) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` with its lifespan run (its shutdown stores the opens and
    clicks in memory), that waits after each answer until the writer has stored the
    hits taken so far: a test reads what it caused as soon as it has the answer."""
    hits = app.state.web.hits

    async def stored(response: httpx.Response) -> None:
        await anyio.to_thread.run_sync(hits.flush)

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=base_url, event_hooks={"response": [stored]}
        ) as client:
            yield client


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


def send_to_readers(db: Database, settings: Settings, clock: Clock) -> Sent:
    """The example article sent to three readers of 'readers', with ``LINKS`` as the
    campaign's links."""
    emails = ["reader0@example.org", "reader1@example.org", "reader2@example.org"]
    with db.session() as session:
        mailing_list = create_list(session, "readers", title="The Morning Post")
        for number, email in enumerate(emails):
            add_subscriber(session, email, "readers", name=f"Reader Number{number}")
        campaign = actions.create(
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
