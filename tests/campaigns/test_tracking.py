"""Tracked links and the open pixel in what is sent; the campaign keeps the links."""

from __future__ import annotations

import re
from email.message import EmailMessage

from mailer.campaigns import actions
from mailer.campaigns.records import get_campaign
from mailer.campaigns.sender import CampaignSender
from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import Database
from mailer.tokens import verify
from tests.support.clock import Clock
from tests.support.examples import ARTICLE


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_links_are_tracked_per_recipient(
    db: Database, settings: Settings, weekly: list[str], sent: list[EmailMessage], clock: Clock
) -> None:
    with db.session() as session:
        campaign_id = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"]).id
        links = get_campaign(session, campaign_id).links
    # The masthead leads to the web app, kept as its path: the base_url of the click.
    assert links[0].startswith("/?utm_source=")
    assert links[1:] and all(link.startswith("https://") for link in links[1:])
    assert any("utm_content=donate" in link for link in links)
    CampaignSender(db, settings, MemoryBackend(sent, {}), clock=clock).send(campaign_id)
    html = _html(sent[0])
    tracked = re.findall(r'href="https://news\.example\.org/c/([^/"]+)/(\d+)"', html)
    assert tracked
    token = tracked[0][0]
    data = verify(settings.secret_key.get_secret_value(), token, "click")
    assert data.extra.startswith(f"{campaign_id}.")
    assert f"https://news.example.org/o/{token}.gif" in html
    assert "https://news.example.org/unsubscribe/" in html  # left alone
    assert {int(n) for _, n in tracked} <= set(range(len(links)))
    other = _html(sent[1])
    assert re.findall(r"/c/([^/\"]+)/", other)[0] != token  # each reader their own


def test_tracking_can_be_turned_off(
    db: Database, settings: Settings, weekly: list[str], sent: list[EmailMessage], clock: Clock
) -> None:
    with db.session() as session:
        campaign_id = actions.create(
            session, settings, article=str(ARTICLE), lists=["weekly"], tracking=False
        ).id
    CampaignSender(db, settings, MemoryBackend(sent, {}), clock=clock).send(campaign_id)
    html = _html(sent[0])
    assert "/c/" not in html
    assert "/o/" not in html
