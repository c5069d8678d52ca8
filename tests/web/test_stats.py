"""A campaign's statistics: what the ledger, our tracking, our pages and SendGrid's
events say, unique and total, per link and for the calls-to-action apart."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mailer.campaigns.stats import campaign_stats, cta_of
from mailer.exceptions import NotFound
from mailer.storage import Database
from mailer.subscribers.privacy import forget
from tests.support.clock import Clock
from tests.support.keys import signed_headers
from tests.support.web import AUTH, LINKS, Sent, token

pytestmark = pytest.mark.anyio


def track(sent: Sent, reader: int) -> str:
    _, subscriber_id, delivery_id = sent.readers[reader]
    return token("click", subscriber_id, sent.list_id, f"{sent.campaign_id}.{delivery_id}")


async def webhook(
    client: httpx.AsyncClient, key: ec.EllipticCurvePrivateKey, clock: Clock, events: list[Any]
) -> None:
    body = orjson.dumps(events)
    headers = signed_headers(key, body, int(clock.now.timestamp()))
    answer = await client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert answer.status_code == 200


def sg(sent: Sent, reader: int, name: str, number: int, **fields: Any) -> dict[str, Any]:
    email, _, delivery_id = sent.readers[reader]
    return {
        "event": name,
        "email": email,
        "timestamp": 1_764_493_200,
        "sg_event_id": f"e{number}",
        "mailer_delivery": f"{sent.uid}.{delivery_id}",
        **fields,
    }


async def test_the_numbers_add_up(
    client: httpx.AsyncClient,
    db: Database,
    sent: Sent,
    clock: Clock,
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    # Reader 0 opens twice and clicks the story and both donation links; reader 1
    # opens once and clicks the 10-dollar link twice; reader 2 bounces.
    for reader, opens in ((0, 2), (1, 1)):
        for _ in range(opens):
            await client.get(f"/o/{track(sent, reader)}.gif")
    for reader, link in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 1)):
        await client.get(f"/c/{track(sent, reader)}/{link}")
    await webhook(
        client,
        signing_key,
        clock,
        [
            sg(sent, 0, "delivered", 1),
            sg(sent, 1, "delivered", 2),
            sg(sent, 2, "bounce", 3, type="bounce", reason="550 no such user"),
            sg(sent, 1, "spamreport", 4),
        ],
    )
    unsubscribe = token("unsubscribe", sent.readers[0][1], sent.list_id, str(sent.campaign_id))
    await client.post(f"/unsubscribe/{unsubscribe}", data={"List-Unsubscribe": "One-Click"})

    with db.session() as session:
        stats = campaign_stats(session, sent.campaign_id)
    assert (stats["sent"], stats["delivered"], stats["bounced"], stats["soft_bounced"]) == (
        3,
        2,
        1,
        0,
    )
    assert stats["opened"] == {"unique": 2, "total": 3}
    assert stats["clicked"] == {"unique": 2, "total": 5}
    assert stats["cta_clicks"] == {
        "unique": 2,
        "total": 4,
        "by_cta": {"donate": {"unique": 2, "total": 4}},
    }
    assert (stats["unsubscribed"], stats["complaints"]) == (1, 1)
    assert stats["rates"] == {
        "open": 1.0,
        "click": 1.0,
        "click_to_open": 1.0,
        "bounce": 0.3333,
        "unsubscribe": 0.5,
    }
    assert stats["links"] == [
        {"index": 0, "url": LINKS[0], "cta": None, "unique": 1, "total": 1},
        {"index": 1, "url": LINKS[1], "cta": "donate", "unique": 2, "total": 3},
        {"index": 2, "url": LINKS[2], "cta": "donate", "unique": 1, "total": 1},
    ]

    # The API answers the same; forgetting a reader keeps the counts of events.
    via_api = (await client.get(f"/api/campaigns/{sent.campaign_id}/stats", headers=AUTH)).json()
    assert via_api == stats
    with db.session() as session:
        forget(session, sent.readers[0][0])
    with db.session() as session:
        after = campaign_stats(session, sent.campaign_id)
    assert after["opened"] == stats["opened"] and after["clicked"] == stats["clicked"]
    assert after["links"] == stats["links"] and after["unsubscribed"] == 1
    assert after["sent"] == 2  # the ledger row went with the person


async def test_a_campaign_without_events_has_zeros(db: Database, sent: Sent) -> None:
    with db.session() as session:
        stats = campaign_stats(session, sent.campaign_id)
        with pytest.raises(NotFound):
            campaign_stats(session, 999)
    assert stats["sent"] == 3 and stats["delivered"] == 0
    assert stats["rates"]["open"] == 0.0 and stats["rates"]["click_to_open"] == 0.0
    assert [row["total"] for row in stats["links"]] == [0, 0, 0]


async def test_provider_clicks_without_a_link_number_get_rows_of_their_own(
    client: httpx.AsyncClient,
    db: Database,
    sent: Sent,
    clock: Clock,
    signing_key: ec.EllipticCurvePrivateKey,
) -> None:
    await webhook(
        client,
        signing_key,
        clock,
        [
            sg(sent, 0, "click", 1, url="https://elsewhere.example/a"),
            sg(sent, 1, "click", 2, url="https://elsewhere.example/a"),
            sg(sent, 1, "click", 3, url=LINKS[1]),
        ],
    )
    with db.session() as session:
        stats = campaign_stats(session, sent.campaign_id)
    extra = [row for row in stats["links"] if row["index"] is None]
    assert extra == [
        {"index": None, "url": "https://elsewhere.example/a", "cta": None, "unique": 2, "total": 2},
        {"index": None, "url": LINKS[1], "cta": "donate", "unique": 1, "total": 1},
    ]
    assert stats["cta_clicks"]["total"] == 1


def test_the_call_to_action_of_a_link_is_its_utm_content() -> None:
    assert cta_of("https://x.example/?a=1&utm_content=donate") == "donate"
    assert cta_of("https://x.example/story") is None
