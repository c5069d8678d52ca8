"""One reader's way through the site in headless Chromium: the subscribe form, the
confirmation link from the mail in the outbox, the settings page, and leaving."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI

from mailer.delivery.memory import MemoryBackend
from mailer.settings import Settings
from mailer.storage import Database
from mailer.subscribers.subscriptions import find_subscriber
from mailer.web.app import create_app
from tests.support.browser import CHROMIUM, NO_CHROMIUM, served
from tests.web.cdp import TIMEOUT, Browser

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)]


class Outbox(list[EmailMessage]):
    """The memory backend's outbox, telling a waiting test when a mail arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()

    def append(self, message: EmailMessage) -> None:
        super().append(message)
        self.arrived.set()


@pytest.fixture
def site(settings: Settings, db: Database) -> Iterator[tuple[str, Outbox]]:
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread."""
    outbox = Outbox()

    def make_app(base_url: str) -> FastAPI:
        local = settings.model_copy(update={"base_url": base_url})
        return create_app(local, db, backend=lambda s: MemoryBackend(outbox, {}))

    with served(make_app) as base_url:
        yield base_url, outbox


@pytest.mark.usefixtures("lists")
def test_subscribe_confirm_preferences_and_leave(
    site: tuple[str, Outbox], db: Database, tmp_path: Path
) -> None:
    base_url, outbox = site
    assert CHROMIUM is not None
    with Browser(CHROMIUM, tmp_path / "profile") as browser:
        page = browser.page()
        page.goto(f"{base_url}/subscribe/weekly")
        assert "Subscribe to The Weekly" in page.text
        page.act(
            "document.querySelector('#email').value = 'grace@example.org';"
            "document.querySelector('#name').value = 'Grace Hopper';"
            "document.querySelector('button[type=submit]').click();"
        )
        assert "Check your inbox" in page.text
        assert "If grace@example.org isn't on The Weekly yet" in page.text

        assert outbox.arrived.wait(TIMEOUT), "no confirmation mail"
        text = outbox[0].get_body(("plain",))
        assert text is not None
        found = re.search(re.escape(base_url) + r"/confirm/\S+", text.get_content())
        assert found is not None
        page.goto(found.group(0))
        assert "You're subscribed" in page.text

        page.act("document.querySelector('a[href*=\"/preferences/\"]').click()")
        assert "/preferences/" in page.url
        assert "grace@example.org" in page.text
        assert re.search(r"The Weekly\s+subscribed", page.text)

        page.act("document.querySelector('button[value=leave]').click()")
        assert "You've left The Weekly." in page.text
        assert re.search(r"The Weekly\s+unsubscribed on", page.text)

    with db.session() as session:
        subscriber = find_subscriber(session, "grace@example.org")
        assert subscriber.name == "Grace Hopper"
        assert [s.status.value for s in subscriber.subscriptions] == ["unsubscribed"]
