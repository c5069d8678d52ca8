"""A campaign's preview: the page with its frames, size and warnings; the email each
frame shows, in dark mode too, under a policy that lets only our pages frame it; and
the test send."""

from __future__ import annotations

from email.message import EmailMessage

import httpx
import pytest

from mailer.accounts.audit import recent_entries
from mailer.campaigns import actions
from mailer.settings import Settings
from mailer.storage import Database
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.admin import post_form, shown
from tests.support.clock import Clock
from tests.support.examples import ARTICLE

pytestmark = pytest.mark.anyio


@pytest.fixture
def draft(db: Database, settings: Settings, clock: Clock) -> int:
    """The example article as a draft to 'readers', with one reader on record."""
    with db.session() as session:
        create_list(session, "readers", title="The Morning Post")
        add_subscriber(session, "ada@example.org", "readers", name="Ada Lovelace")
        campaign = actions.create(
            session,
            settings,
            article=str(ARTICLE),
            lists=["readers"],
            subject='Hello {{ subscriber.first_name or "friend" }}',
            now=clock.now,
        )
        return campaign.id


async def test_the_preview_page_frames_each_width_and_dark_mode(
    as_editor: httpx.AsyncClient, draft: int
) -> None:
    page = await as_editor.get(f"/admin/campaigns/{draft}/preview")
    assert page.status_code == 200
    text = shown(page.text)
    assert "Hello friend" in text
    assert "Gmail clips at 102 KB" in text and "KB of the 102 KB" in text
    assert "Warnings" in text
    email = f"/admin/campaigns/{draft}/preview/email"
    assert (
        f'width="375" height="900" sandbox="allow-popups allow-popups-to-escape-sandbox" src="{email}"'
        in page.text
    )
    assert (
        f'width="700" height="900" sandbox="allow-popups allow-popups-to-escape-sandbox" src="{email}"'
        in page.text
    )
    assert f'src="{email}?dark=1"' in page.text
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and " style=" not in page.text


async def test_the_framed_email_may_be_framed_by_our_pages_only(
    as_editor: httpx.AsyncClient, draft: int
) -> None:
    answer = await as_editor.get(f"/admin/campaigns/{draft}/preview/email")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "script-src" not in policy
    assert "default-src 'none'" in policy and "style-src 'unsafe-inline'" in policy
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    assert "Hello friend" in answer.text  # the sample reader, who has no name
    assert "%%" not in answer.text  # no token left unfilled
    assert "https://news.example.org/unsubscribe/preview" in answer.text
    assert '<base target="_blank">' in answer.text
    assert "prefers-color-scheme: dark" in answer.text.replace("(", " ").replace(")", " ")


async def test_dark_mode_puts_the_emails_own_dark_rules_in_force(
    as_editor: httpx.AsyncClient, draft: int
) -> None:
    light = await as_editor.get(f"/admin/campaigns/{draft}/preview/email")
    dark = await as_editor.get(f"/admin/campaigns/{draft}/preview/email", params={"dark": "1"})
    assert dark.status_code == 200
    assert "prefers-color-scheme" in light.text and "prefers-color-scheme" not in dark.text
    assert "@media all" in dark.text and "#121212" in dark.text
    assert "<body data-ogsc" in dark.text


async def test_a_test_send_reaches_the_outbox_and_is_audited(
    as_editor: httpx.AsyncClient, draft: int, outbox: list[EmailMessage], db: Database
) -> None:
    page = f"/admin/campaigns/{draft}/preview"
    answer = await post_form(
        as_editor,
        page,
        f"/admin/campaigns/{draft}/test",
        addresses="ada@example.org, x@example.net",
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == page
    subjects = {m["To"]: m["Subject"] for m in outbox}
    assert sorted(subjects) == ["Ada Lovelace <ada@example.org>", "x@example.net"]
    assert subjects["Ada Lovelace <ada@example.org>"] == "[TEST] Hello Ada"
    assert subjects["x@example.net"] == "[TEST] Hello friend"
    after = shown((await as_editor.get(page)).text)
    assert "ada@example.org: sent; x@example.net: sent" in after
    with db.session() as session:
        (entry,) = [e for e in recent_entries(session, limit=10) if e.action == "campaign.test"]
    assert entry.actor == "eli@example.org" and entry.target == f"campaign {draft}"
    assert entry.detail == {"to": "ada@example.org, x@example.net", "sent": 2}


async def test_a_test_goes_to_the_signed_in_account_by_default(
    as_editor: httpx.AsyncClient, draft: int, outbox: list[EmailMessage]
) -> None:
    page = f"/admin/campaigns/{draft}/preview"
    answer = await post_form(as_editor, page, f"/admin/campaigns/{draft}/test", addresses="")
    assert answer.status_code == 303
    assert [m["To"] for m in outbox] == ["eli@example.org"]


async def test_a_wrong_address_comes_back_in_the_form(
    as_editor: httpx.AsyncClient, draft: int, outbox: list[EmailMessage]
) -> None:
    page = f"/admin/campaigns/{draft}/preview"
    answer = await post_form(as_editor, page, f"/admin/campaigns/{draft}/test", addresses="nope")
    assert answer.status_code == 422
    assert 'value="nope"' in answer.text
    assert "nope" in shown(answer.text).split("Send a test")[0]
    assert outbox == []


async def test_a_viewer_may_neither_preview_nor_send_tests(
    as_viewer: httpx.AsyncClient, draft: int
) -> None:
    for path in (f"/admin/campaigns/{draft}/preview", f"/admin/campaigns/{draft}/preview/email"):
        answer = await as_viewer.get(path)
        assert answer.status_code == 403
        assert "needs an editor's role" in shown(answer.text)
    refused = await as_viewer.post(f"/admin/campaigns/{draft}/test", data={"csrf": "x"})
    assert refused.status_code == 403


async def test_a_campaign_that_does_not_exist(as_editor: httpx.AsyncClient) -> None:
    answer = await as_editor.get("/admin/campaigns/99/preview")
    assert answer.status_code == 404
