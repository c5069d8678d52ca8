"""The open pixel and click redirects: counted per recipient, and leading only to the
campaign's own links."""

from __future__ import annotations

import re
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy import select

from mailer.campaigns import actions
from mailer.campaigns.sender import CampaignSender
from mailer.campaigns.stats import campaign_stats
from mailer.campaigns.tracking import link_target
from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import Database, Event, EventKind
from mailer.subscribers.lists import create_list
from mailer.subscribers.privacy import forget
from mailer.subscribers.subscriptions import add_subscriber
from mailer.web.tracking import PIXEL
from tests.support.clock import Clock
from tests.support.examples import ARTICLE
from tests.support.web import BASE, LINKS, Sent, token

pytestmark = pytest.mark.anyio


def track(sent: Sent, reader: int = 0, *, campaign_id: int | None = None) -> str:
    _, subscriber_id, delivery_id = sent.readers[reader]
    extra = f"{campaign_id or sent.campaign_id}.{delivery_id}"
    return token("click", subscriber_id, sent.list_id, extra)


def events(db: Database, kind: EventKind) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


async def test_the_pixel_records_an_open(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    answer = await client.get(f"/o/{track(sent)}.gif")
    assert answer.status_code == 200
    assert answer.content == PIXEL
    assert answer.headers["content-type"] == "image/gif"
    assert "no-store" in answer.headers["cache-control"]
    (event,) = events(db, EventKind.OPENED)
    _, subscriber_id, delivery_id = sent.readers[0]
    assert (event.campaign_id, event.delivery_id, event.subscriber_id) == (
        sent.campaign_id,
        delivery_id,
        subscriber_id,
    )


async def test_a_bad_token_still_gets_the_pixel_and_is_recorded_nowhere(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    good = track(sent)
    for bad in (
        good[:-2] + "xx",
        "nothing",
        token("unsubscribe", 1, 1),
        track(sent, 0, campaign_id=999),
    ):
        answer = await client.get(f"/o/{bad}.gif")
        assert answer.status_code == 200
        assert answer.content == PIXEL
    assert events(db, EventKind.OPENED) == []


async def test_a_click_is_recorded_and_redirected_to_the_campaigns_link(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    answer = await client.get(f"/c/{track(sent, 1)}/1")
    assert answer.status_code in (302, 303)
    assert answer.headers["location"] == LINKS[1]
    (event,) = events(db, EventKind.CLICKED)
    assert (event.link_index, event.url, event.delivery_id) == (1, LINKS[1], sent.readers[1][2])


async def test_a_click_never_leads_anywhere_else(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    good = track(sent)
    for path, status in (
        (f"/c/{good}/3", 404),
        (f"/c/{good}/99999", 404),
        (f"/c/{good}/-1", 404),
        (f"/c/{good}/x", 404),
        (f"/c/{good[:-2]}xx/0", 400),
        (f"/c/{token('click', 1, 1, '999.1')}/0", 404),
        ("/c/https%3A%2F%2Fevil.example/0", 404),
        ("/c/evil.example/0", 400),
    ):
        answer = await client.get(path)
        assert answer.status_code == status, path
        assert "location" not in answer.headers
    assert events(db, EventKind.CLICKED) == []


async def test_a_forgotten_readers_click_still_leads_on_but_is_not_recorded(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    with db.session() as session:
        forget(session, sent.readers[2][0])
    answer = await client.get(f"/c/{track(sent, 2)}/0")
    assert answer.headers["location"] == LINKS[0]
    assert (await client.get(f"/o/{track(sent, 2)}.gif")).content == PIXEL
    assert events(db, EventKind.CLICKED) == [] and events(db, EventKind.OPENED) == []


async def test_a_token_of_another_reader_does_not_count_for_this_one(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    # Reader 0's subscriber id with reader 1's ledger row: a forgery, not a click.
    mixed = token(
        "click", sent.readers[0][1], sent.list_id, f"{sent.campaign_id}.{sent.readers[1][2]}"
    )
    answer = await client.get(f"/c/{mixed}/0")
    assert answer.headers["location"] == LINKS[0]
    assert events(db, EventKind.CLICKED) == []


async def test_the_links_of_a_sent_message_are_counted_end_to_end(
    client: httpx.AsyncClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """The delivery side's tracked links and pixel, as a reader's mail client meets them."""
    messages: list[EmailMessage] = []
    with db.session() as session:
        create_list(session, "news")
        add_subscriber(session, "reader@example.org", "news")
        campaign = actions.create(session, settings, article=str(ARTICLE), lists=["news"])
        campaign_id, links = campaign.id, list(campaign.links)
    assert links, "a campaign with tracking on keeps its links"
    CampaignSender(db, settings, MemoryBackend(messages, {}), clock=clock, sleep=clock.sleep).send(
        campaign_id
    )
    part = messages[0].get_body(("html",))
    assert part is not None
    body = part.get_content()
    pixel = re.search(re.escape(BASE) + r"(/o/[^\"]+\.gif)", body)
    clicks = re.findall(re.escape(BASE) + r"(/c/[^\"/]+/\d+)", body)
    assert pixel is not None and clicks
    assert (await client.get(pixel.group(1))).content == PIXEL
    answer = await client.get(clicks[0])
    assert answer.headers["location"] == link_target(links[int(clicks[0].rsplit("/", 1)[1])], BASE)
    with db.session() as session:
        stats = campaign_stats(session, campaign_id)
    assert stats["opened"] == {"unique": 1, "total": 1}
    assert stats["clicked"] == {"unique": 1, "total": 1}
