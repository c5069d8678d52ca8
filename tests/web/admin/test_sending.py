"""Sending from the admin: "Send now" answers at once and the send, started as the
API starts one, reaches the outbox; the live page's figures and its event stream,
which ends with done once the campaign is no longer sending; pause and resume."""

from __future__ import annotations

import json
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select

from mailer.accounts.audit import recent_entries
from mailer.campaigns import ledger
from mailer.campaigns.records import move
from mailer.settings import Settings
from mailer.storage import Campaign, Database, Delivery, Subscriber
from mailer.storage.models import CampaignStatus, DeliveryStatus
from tests.support.admin import ADMIN, post_form, shown
from tests.support.clock import Clock
from tests.web.admin.test_campaigns import draft, status_of

pytestmark = pytest.mark.anyio


def events(body: str) -> list[dict[str, object]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]


def under_way(db: Database, clock: Clock, campaign_id: int, sent: int) -> None:
    """The campaign as its sender leaves it after ``sent`` of its readers' rows."""
    with db.session() as session:
        move(session, campaign_id, "send", now=clock.now)
        readers = session.scalars(select(Subscriber).order_by(Subscriber.id)).all()
        list_id = session.get_one(Campaign, campaign_id).lists[0].id
        for n, reader in enumerate(readers):
            status = DeliveryStatus.SENT if n < sent else DeliveryStatus.PENDING
            session.add(
                Delivery(
                    campaign_id=campaign_id, subscriber_id=reader.id, list_id=list_id, status=status
                )
            )
        session.flush()
        ledger.recount(session.connection(), campaign_id)


@pytest.fixture
def campaign_id(db: Database, settings: Settings, clock: Clock) -> int:
    return draft(db, settings, clock, readers=3)


async def test_send_now_reaches_the_outbox_and_is_audited(
    as_admin: httpx.AsyncClient, db: Database, outbox: list[EmailMessage], campaign_id: int
) -> None:
    page = f"/admin/campaigns/{campaign_id}"
    answer = await post_form(as_admin, page, f"{page}/send")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{page}/sending"
    # The transport returns once the app's background task (the send) has run.
    assert sorted(m["To"] for m in outbox) == [f"reader{n}@example.org" for n in range(3)]
    assert status_of(db, campaign_id) is CampaignStatus.SENT
    live = await as_admin.get(answer.headers["location"])
    text = shown(live.text)
    assert f"Campaign {campaign_id} is being sent." in text
    assert "sent 3" in text
    assert "data-live" not in live.text  # sent: nothing more to watch
    with db.session() as session:
        entry = recent_entries(session)[0]
    assert (entry.actor, entry.action) == (ADMIN, "campaign.send")


async def test_the_stream_ends_with_done_when_the_campaign_is_not_sending(
    as_admin: httpx.AsyncClient, campaign_id: int
) -> None:
    page = f"/admin/campaigns/{campaign_id}"
    await post_form(as_admin, page, f"{page}/send")
    answer = await as_admin.get(f"{page}/progress")
    assert answer.headers["content-type"].startswith("text/event-stream")
    (last,) = events(answer.text)
    assert last["done"] is True
    assert (last["sent"], last["pending"], last["handled"], last["handled_max"]) == (3, 0, 3, 3)


async def test_a_campaign_being_sent_shows_its_rate_time_left_and_outcomes(
    as_viewer: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    clock: Clock,
    campaign_id: int,
) -> None:
    # The sender took the campaign a minute ago and has sent two of its three rows.
    under_way(db, clock, campaign_id, sent=2)
    clock.sleep(40)
    answer = await as_viewer.get(f"/admin/campaigns/{campaign_id}/progress", params={"once": "1"})
    (data,) = events(answer.text)
    assert data["done"] is False
    assert (data["sent"], data["pending"], data["handled_max"]) == (2, 1, 3)
    assert (data["rate"], data["eta"]) == ("0.1/s", "0 min 20 s")
    page = await as_viewer.get(f"/admin/campaigns/{campaign_id}/sending")
    assert f'data-live="/admin/campaigns/{campaign_id}/progress"' in page.text
    assert "Pause" not in page.text  # a viewer has no buttons


async def test_pause_then_resume_sends_the_rest(
    as_admin: httpx.AsyncClient,
    db: Database,
    clock: Clock,
    outbox: list[EmailMessage],
    campaign_id: int,
) -> None:
    under_way(db, clock, campaign_id, sent=0)
    page = f"/admin/campaigns/{campaign_id}"
    answer = await post_form(as_admin, page, f"{page}/pause")
    assert answer.status_code == 303
    assert status_of(db, campaign_id) is CampaignStatus.PAUSED
    text = shown((await as_admin.get(page)).text)
    assert f"paused by {ADMIN}" in text
    assert "Resume goes on where it stopped" in text
    answer = await post_form(as_admin, page, f"{page}/resume")
    assert answer.status_code == 303
    assert status_of(db, campaign_id) is CampaignStatus.SENT
    assert len(outbox) == 3
    with db.session() as session:
        logged = [e.action for e in recent_entries(session)]
    assert logged[:2] == ["campaign.resume", "campaign.pause"]


async def test_a_campaign_that_cannot_start_is_refused_before_any_send(
    as_admin: httpx.AsyncClient, db: Database, outbox: list[EmailMessage], campaign_id: int
) -> None:
    with db.session() as session:
        session.get_one(Campaign, campaign_id).status = CampaignStatus.CANCELLED
    page = f"/admin/campaigns/{campaign_id}"
    answer = await post_form(as_admin, page, f"{page}/send")
    assert answer.status_code == 409
    assert outbox == []
