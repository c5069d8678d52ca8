"""Every link of a sent message, followed through the web app as a reader's mail client
would: tracked links redirect to where they lead, the reader's own pages open, and all
of them are at the base_url in force when the message was sent, not when the campaign
was created."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import lxml.html
import pytest

from mailer.campaigns import actions
from mailer.campaigns.sender import CampaignSender
from mailer.campaigns.testsend import send_test
from mailer.campaigns.tracking import add_tracking
from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import Database
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from mailer.web.tracking import PIXEL
from tests.support.clock import Clock
from tests.support.web import BASE

pytestmark = pytest.mark.anyio

OLD = "http://localhost:8000"
ARTICLE = """\
---
title: The budget, in four links
date: 2026-11-30
cta: donate
---
Read [the council's budget](https://council.example.gov/budget.pdf) and
[our earlier story](https://news.example.org/2026/11/budget?ref=home#numbers).

The [budget](https://council.example.gov/budget.pdf) again, and
[a map of the cuts](https://maps.example.com/?q=Millbrook&z=12).

Write to [the editor](mailto:editor@example.org).
"""
# Where the article's links lead, UTM parameters aside.
ARTICLE_LINKS = {
    "https://council.example.gov/budget.pdf",
    "https://news.example.org/2026/11/budget",
    "https://maps.example.com/",
}


def _parts(message: EmailMessage) -> tuple[str, str]:
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return str(html_part.get_content()), str(text_part.get_content())


def _anchors(page: str) -> list[str]:
    return [a.get("href", "") for a in lxml.html.fromstring(page).iter("a")]


def _send(
    db: Database,
    create_settings: Settings,
    send_settings: Settings,
    clock: Clock,
    folder: Path,
) -> tuple[int, EmailMessage]:
    article = folder / "budget.md"
    article.write_text(ARTICLE, encoding="utf-8")
    with db.session() as session:
        create_list(session, "readers")
        add_subscriber(session, "reader@example.org", "readers", name="Rosa Reader")
        campaign_id = actions.create(
            session, create_settings, article=str(article), lists=["readers"], now=clock.now
        ).id
    messages: list[EmailMessage] = []
    backend = MemoryBackend(messages, {})
    CampaignSender(db, send_settings, backend, clock=clock, sleep=clock.sleep).send(campaign_id)
    assert len(messages) == 1
    return campaign_id, messages[0]


async def _follow_every_link(
    client: httpx.AsyncClient, campaign_id: int, message: EmailMessage
) -> set[str]:
    """Follow each link of the message's HTML; returns where its tracked links lead."""
    body, _ = _parts(message)
    sent = _anchors(body)
    archive = await client.get(f"/archive/{campaign_id}")
    assert archive.status_code == 200
    # The archive copy is the same mailing untracked: its links, in the same order, are
    # where the message's tracked links must lead.
    untracked = _anchors(archive.text)
    assert len(sent) == len(untracked)
    tracked = re.findall(r"/c/[^\"'/<>\s]+/\d+", body)
    assert len(tracked) == sum("/c/" in href for href in sent), "a /c/ link outside an <a>"
    targets: set[str] = set()
    for href, plain in zip(sent, untracked, strict=True):
        if href.startswith("mailto:"):
            assert href == plain
            continue
        assert href.startswith(BASE + "/") or not href.startswith(OLD), href
        path = urlsplit(href).path
        if path.startswith("/c/"):
            answer = await client.get(href)
            assert answer.status_code == 302, (href, answer.status_code)
            assert answer.headers["location"] == plain, href
            targets.add(plain)
        elif path.startswith(("/unsubscribe/", "/preferences/", "/archive/")):
            assert href.startswith(BASE + "/")
            answer = await client.get(href)
            assert answer.status_code == 200, (href, answer.status_code)
        else:
            pytest.fail(f"a link of the message is not tracked: {href}")
    pixel = re.search(r'src="([^"]*/o/[^"]+\.gif)"', body)
    assert pixel is not None and pixel.group(1).startswith(BASE + "/o/")
    assert (await client.get(pixel.group(1))).content == PIXEL
    return targets


async def test_every_tracked_link_of_a_sent_message_redirects_to_its_target(
    client: httpx.AsyncClient, db: Database, settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    campaign_id, message = _send(db, settings, settings, clock, tmp_path)
    body, _ = _parts(message)
    assert re.search(r'href="[^"]*/c/[^"]+"[^>]*>View in your browser', body) is None
    targets = await _follow_every_link(client, campaign_id, message)
    bare = {t.split("?")[0] for t in targets}
    assert bare >= ARTICLE_LINKS
    assert BASE + "/" in bare  # the masthead
    donate = [t for t in targets if t.startswith("https://give.example-times.org/donate?")]
    assert len(donate) == 4, "three amounts and the button"
    assert all("utm_source=" in t for t in targets)


async def test_a_base_url_changed_after_create_is_the_only_address_in_what_is_sent(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    clock: Clock,
    tmp_path: Path,
) -> None:
    """The report of a new user: base_url fixed in mailer.toml after campaigns create."""
    old = settings.model_copy(update={"base_url": OLD})
    campaign_id, message = _send(db, old, settings, clock, tmp_path)
    body, text = _parts(message)
    headers = "\n".join(f"{k}: {v}" for k, v in message.items())
    for what, part in (("HTML", body), ("text", text), ("headers", headers)):
        assert "localhost" not in part and "8000" not in part, what
    assert f'class="masthead-link" href="{BASE}/c/' in body
    assert f"{BASE}/unsubscribe/" in body and f"{BASE}/preferences/" in body
    assert f'href="{BASE}/archive/{campaign_id}"' in body
    assert f"View in your browser: {BASE}/archive/{campaign_id}" in text
    assert f"Unsubscribe: {BASE}/unsubscribe/" in text
    assert f"<{BASE}/unsubscribe/" in message["List-Unsubscribe"]
    targets = await _follow_every_link(client, campaign_id, message)
    assert BASE + "/" in {t.split("?")[0] for t in targets}
    assert not any(OLD in t for t in targets)

    # The web copy and a test send are of now, too.
    archive = (await client.get(f"/archive/{campaign_id}")).text
    assert "localhost" not in archive and f'href="{BASE}/?utm_source=' in archive
    test_copies: list[EmailMessage] = []
    send_test(db, settings, MemoryBackend(test_copies, {}), campaign_id, ["editor@example.org"])
    test_html, test_text = _parts(test_copies[0])
    assert "localhost" not in test_html + test_text
    assert f"View in your browser: {BASE}/archive/{campaign_id}" in test_text


def test_a_link_the_campaigns_table_lacks_is_not_tracked() -> None:
    """A campaign stored before links were kept without the address has its old archive
    link in the HTML and not in its links: it stays as it is rather than lead to a 404."""
    html = (
        '<body><a href="http://localhost:8000/archive/3">View</a>'
        '<a href="https://example.org/a">A</a><a href="https://example.org/b">B</a></body>'
    )
    tracked, links = add_tracking(html, ["https://example.org/b", "https://example.org/a"])
    assert links == ["https://example.org/b", "https://example.org/a"]
    assert 'href="http://localhost:8000/archive/3"' in tracked
    assert 'href="%%base_url%%/c/%%track%%/1">A' in tracked
    assert 'href="%%base_url%%/c/%%track%%/0">B' in tracked
