"""The API refuses what the command line refuses: on a backend that sends real mail,
create, schedule, send and resume answer with the readiness rule's one line, and
nothing is stored."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest
from pydantic import SecretStr

from mailer.campaigns import actions
from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import Campaign, Database, Delivery
from mailer.subscribers.lists import create_list
from mailer.web.app import create_app
from tests.support.clock import Clock
from tests.support.examples import ARTICLE
from tests.support.web import AUTH, BASE

pytestmark = pytest.mark.anyio


async def test_on_smtp_a_placeholder_sender_is_refused_by_every_route_towards_sending(
    settings: Settings, db: Database, clock: Clock, outbox: list[EmailMessage]
) -> None:
    with db.session() as session:
        create_list(session, "daily")
        draft = actions.create(session, settings, article=str(ARTICLE), lists=["daily"]).id
    smtp = settings.model_copy(
        update={"backend": "smtp", "smtp_url": SecretStr("smtp://127.0.0.1:9")}
    )
    app = create_app(smtp, db, clock=clock, backend=lambda s: MemoryBackend(outbox, {}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=AUTH) as api:
        answers = [
            await api.post(
                "/api/campaigns", json={"content": ARTICLE.read_text(), "lists": ["daily"]}
            ),
            await api.post(f"/api/campaigns/{draft}/schedule", json={"at": "2030-01-01T09:00:00Z"}),
            await api.post(f"/api/campaigns/{draft}/send"),
        ]
        for answer in answers:
            assert answer.status_code == 503, answer.text
            error = answer.json()["error"]
            assert error.startswith(
                f"from_address: campaign {draft} sends from newsletter@example.org"
            ) or error.startswith("from_address: is newsletter@example.org, at example.org")
            assert "(or as MAILER_FROM_ADDRESS)" in error
    with db.session() as session:
        campaigns = session.query(Campaign).all()
        assert [(c.id, c.status.value, c.scheduled_at) for c in campaigns] == [
            (draft, "draft", None)
        ]
        assert session.query(Delivery).count() == 0
    assert outbox == []
