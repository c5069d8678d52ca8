"""The dashboard: the campaigns sent lately with their rates, and what is scheduled
next."""

from __future__ import annotations

import httpx
import pytest

from mailer.settings import Settings
from mailer.storage import Database
from mailer.subscribers.lists import edit_list
from tests.support.admin import post_form, shown
from tests.support.clock import Clock
from tests.support.web import Sent
from tests.web.admin.test_campaigns import draft
from tests.web.admin.test_reports import add_events

pytestmark = pytest.mark.anyio


async def test_the_dashboard_shows_rates_and_what_is_next(
    as_admin: httpx.AsyncClient, db: Database, settings: Settings, clock: Clock, sent: Sent
) -> None:
    add_events(db, sent, clock)
    later = draft(db, settings, clock)
    with db.session() as session:
        edit_list(session, "readers", title="The Readers")
    page = f"/admin/campaigns/{later}"
    await post_form(as_admin, page, f"{page}/schedule", date="2026-12-24", time="08:00", tz="UTC")
    text = shown((await as_admin.get("/admin")).text)
    # Sent 3, delivered 2 (of the sent), opened and clicked 2 (of the delivered), a CTA click.
    assert "sent 2026-11-30 09:00 UTC 3 2 66.7 % 2 100.0 % 2 100.0 % 1 50.0 %" in text
    assert (
        "Scheduled next The ferry that would not sink to The Readers: 2026-12-24 08:00 UTC" in text
    )
    assert "Nothing is scheduled." not in text
