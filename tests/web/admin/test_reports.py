"""A campaign's report in the admin: the figures and rates of campaign_stats, opens and
clicks over time as a chart with its table, clicks per link with the calls-to-action
apart, bounces, complaints and unsubscribes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from mailer.storage import Database
from mailer.storage.events import Event, EventKind
from tests.support.admin import shown
from tests.support.clock import Clock
from tests.support.web import LINKS, Sent

pytestmark = pytest.mark.anyio


def add_events(db: Database, sent: Sent, clock: Clock) -> None:
    (_, _, first), (_, _, second), (_, _, third) = sent.readers
    at = clock.now + timedelta(hours=1)
    rows = [
        (first, EventKind.DELIVERED, None, False),
        (second, EventKind.DELIVERED, None, False),
        (first, EventKind.OPENED, None, False),
        (first, EventKind.OPENED, None, False),
        (second, EventKind.OPENED, None, False),
        (first, EventKind.CLICKED, 0, False),
        (second, EventKind.CLICKED, 1, False),
        (third, EventKind.BOUNCED, None, True),
        (second, EventKind.COMPLAINED, None, False),
        (second, EventKind.UNSUBSCRIBED, None, False),
    ]
    with db.session() as session:
        for delivery, kind, link, hard in rows:
            session.add(
                Event(
                    kind=kind,
                    campaign_id=sent.campaign_id,
                    delivery_id=delivery,
                    link_index=link,
                    hard=hard,
                    occurred_at=at,
                )
            )


async def test_a_report_with_events(
    as_viewer: httpx.AsyncClient, db: Database, sent: Sent, clock: Clock
) -> None:
    add_events(db, sent, clock)
    answer = await as_viewer.get(f"/admin/campaigns/{sent.campaign_id}/report")
    assert answer.status_code == 200
    text = shown(answer.text)
    assert "Sent 3" in text
    assert "Delivered 2" in text
    assert "Opened 2 100.0 %" in text  # of the two delivered
    assert "Clicked 2 100.0 %" in text
    assert "Call-to-action clicks 1 50.0 %" in text
    assert "Bounced 1 33.3 %" in text
    assert "Complaints 1" in text
    assert "Unsubscribed 1 50.0 %" in text
    # The chart, drawn on the server, and its table.
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in answer.text
    assert "The figures as a table" in text
    # The story link apart from the call-to-action's.
    assert LINKS[0] in text
    assert "donate: " + LINKS[1] + " — 1 clicks (1 unique)" in text
    assert "<script" not in answer.text.split("</head>")[1]
    assert "style=" not in answer.text


async def test_a_report_without_events_says_so(as_viewer: httpx.AsyncClient, sent: Sent) -> None:
    answer = await as_viewer.get(f"/admin/campaigns/{sent.campaign_id}/report")
    assert answer.status_code == 200
    assert "No opens or clicks yet." in shown(answer.text)
    assert "<svg" not in answer.text
