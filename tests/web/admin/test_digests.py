"""The admin's digests: each with its feed, list, schedule, next run and last result;
an admin pauses and resumes them (audited), a viewer cannot."""

from __future__ import annotations

import httpx
import pytest

from mailer.accounts.audit import recent_entries
from mailer.scheduling.digests import create_digest, get_digest
from mailer.settings import Settings
from mailer.storage import Database
from tests.support.admin import ADMIN, post_form, shown

pytestmark = pytest.mark.anyio


@pytest.fixture
def digest(db: Database, settings: Settings, lists: None) -> str:
    with db.session() as session:
        found = create_digest(
            session,
            settings,
            "morning",
            feed="https://news.example.org/feed.xml",
            list_name="weekly",
            cron="0 7 * * *",
            timezone="Europe/Berlin",
        )
        found.last_error = "the feed answered 503"
    return "morning"


def paused(db: Database, name: str) -> bool:
    with db.session() as session:
        return get_digest(session, name).paused


async def test_the_digests_with_their_feeds_and_last_runs(
    as_viewer: httpx.AsyncClient, digest: str
) -> None:
    answer = await as_viewer.get("/admin/digests")
    text = shown(answer.text)
    for part in ("morning", "https://news.example.org/feed.xml", "weekly", "0 7 * * *",
                 "Europe/Berlin", "the feed answered 503"):  # fmt: skip
        assert part in text
    assert "/admin/digests/pause" not in answer.text


async def test_an_admin_pauses_and_resumes_a_digest(
    as_admin: httpx.AsyncClient, db: Database, digest: str
) -> None:
    answer = await post_form(as_admin, "/admin/digests", "/admin/digests/pause", name=digest)
    assert answer.status_code == 303
    assert paused(db, digest)
    page = await as_admin.get("/admin/digests")
    assert "Digest morning paused." in shown(page.text)
    answer = await post_form(as_admin, "/admin/digests", "/admin/digests/resume", name=digest)
    assert not paused(db, digest)
    with db.session() as session:
        entries = recent_entries(session)
    assert [(e.actor, e.action, e.target) for e in entries[:2]] == [
        (ADMIN, "digest.resume", "digest morning"),
        (ADMIN, "digest.pause", "digest morning"),
    ]


async def test_a_viewer_cannot_pause_a_digest(
    as_viewer: httpx.AsyncClient, db: Database, digest: str
) -> None:
    answer = await post_form(as_viewer, "/admin/digests", "/admin/digests/pause", name=digest)
    assert answer.status_code == 403
    assert "Pausing a digest needs an admin's role" in shown(answer.text)
    assert not paused(db, digest)
