"""The archive: sent campaigns as web pages, with nobody's data in them."""

from __future__ import annotations

import html

import httpx
import pytest

from mailer.campaigns import actions
from mailer.settings import Settings
from mailer.storage import Campaign, Database
from tests.support.examples import ARTICLE
from tests.support.web import BASE, LINKS, Sent

pytestmark = pytest.mark.anyio


async def test_the_index_lists_only_what_was_sent(
    client: httpx.AsyncClient, db: Database, settings: Settings, sent: Sent
) -> None:
    with db.session() as session:
        draft = actions.create(
            session, settings, article=str(ARTICLE), lists=["readers"], subject="Not yet"
        )
        draft_id = draft.id
    page = await client.get("/archive")
    assert page.status_code == 200
    assert f'href="/archive/{sent.campaign_id}"' in page.text
    assert f'href="/archive/{draft_id}"' not in page.text
    assert "Not yet" not in page.text
    assert (await client.get(f"/archive/{draft_id}")).status_code == 404


async def test_a_campaign_page_holds_no_personal_data(
    client: httpx.AsyncClient, sent: Sent
) -> None:
    page = await client.get(f"/archive/{sent.campaign_id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    for email, _, _ in sent.readers:
        assert email not in text
    assert "Reader" not in text and "Number" not in text
    assert "%%" not in text
    assert f'href="{BASE}/unsubscribe"' in text
    assert "/unsubscribe/" not in text and "/preferences/" not in text
    # The email's own images and styles are allowed; nothing else.
    policy = page.headers["content-security-policy"]
    assert "img-src https: http: data:" in policy and "script-src" not in policy


async def test_tracked_links_lead_straight_on_and_the_pixel_is_gone(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    with db.session() as session:
        campaign = session.get_one(Campaign, sent.campaign_id)
        rendered = dict(campaign.rendered)
        rendered["html"] = rendered["html"].replace(
            "</body>",
            f'<a href="{BASE}/c/%%track%%/1">Give</a><a href="{BASE}/c/%%track%%/0">Read</a>'
            f'<img src="{BASE}/o/%%track%%.gif" width="1" height="1" alt=""></body>',
        )
        campaign.rendered = rendered
    text = (await client.get(f"/archive/{sent.campaign_id}")).text
    assert f'<a href="{html.escape(LINKS[1])}">Give</a>' in text
    assert f'<a href="{html.escape(LINKS[0])}">Read</a>' in text
    assert "/c/" not in text and "/o/" not in text and ".gif" not in text


async def test_an_unknown_or_malformed_id_is_a_clear_404(client: httpx.AsyncClient) -> None:
    for path in ("/archive/999", "/archive/abc", "/archive/0", "/archive/99999999999999999999"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
        assert "<h1>" in answer.text
