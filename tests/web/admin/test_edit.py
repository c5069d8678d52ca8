"""Editing a draft: the composer's form filled as the draft was composed, saved through
the same action as the CLI's, and refused for a campaign that is no longer a draft."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mailer.accounts.audit import recent_entries
from mailer.storage import Campaign, CampaignStatus, Database
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.admin import csrf, shown

pytestmark = pytest.mark.anyio

MARKDOWN = "# The river is back\n\nAfter ten dry years the river runs again.\n"
FILES = {"file": ("", b"")}


@pytest.fixture
async def campaign_id(as_editor: httpx.AsyncClient, db: Database) -> int:
    """A draft composed in Markdown for 'readers', with a subject of its own."""
    with db.session() as session:
        create_list(session, "readers", title="The Morning Post")
        create_list(session, "staff", title="Staff")
        add_subscriber(session, "ada@example.org", "readers", confirmed=True, tags=["donor"])
    page = await as_editor.get("/admin/campaigns/new")
    data = {
        "csrf": csrf(page.text),
        "do": "save",
        "list": "readers",
        "source": "markdown",
        "markdown": MARKDOWN,
        "subject": "River news",
    }
    answer = await as_editor.post("/admin/campaigns/new", data=data, files=FILES)
    assert answer.status_code == 303, shown(answer.text)
    with db.session() as session:
        return session.scalars(select(Campaign.id)).one()


async def edit(
    client: httpx.AsyncClient, campaign_id: int, path: str = "", **fields: Any
) -> httpx.Response:
    page = await client.get(f"/admin/campaigns/{campaign_id}/edit")
    assert page.status_code == 200, shown(page.text)
    data = {"csrf": csrf(page.text), "list": "readers", **fields}
    return await client.post(f"/admin/campaigns/{campaign_id}/edit{path}", data=data, files=FILES)


def stored(db: Database, campaign_id: int) -> Campaign:
    with db.session() as session:
        campaign = session.get_one(Campaign, campaign_id)
        session.expunge(campaign)
        return campaign


async def test_the_edit_page_is_the_composers_form_filled_as_the_draft_was_composed(
    as_editor: httpx.AsyncClient, campaign_id: int
) -> None:
    campaign_page = await as_editor.get(f"/admin/campaigns/{campaign_id}")
    assert f'href="/admin/campaigns/{campaign_id}/edit"' in campaign_page.text
    assert f'href="/admin/campaigns/{campaign_id}/preview"' in campaign_page.text
    assert "None yet: who gets it is fixed when it starts sending" in shown(campaign_page.text)
    page = await as_editor.get(f"/admin/campaigns/{campaign_id}/edit")
    assert page.status_code == 200
    assert "<h1>Edit: River news</h1>" in page.text
    assert f'action="/admin/campaigns/{campaign_id}/edit"' in page.text
    assert MARKDOWN.strip() in page.text and 'value="markdown" checked' in page.text
    assert 'value="River news"' in page.text
    assert 'id="list-readers" name="list" value="readers" checked' in page.text
    assert 'value="staff" checked' not in page.text
    assert "Keep the saved article" in shown(page.text)


async def test_saving_an_edit_renders_the_draft_again_and_is_audited(
    as_editor: httpx.AsyncClient, db: Database, campaign_id: int
) -> None:
    markdown = "# The bridge opens\n\nCars cross the river from Monday.\n"
    answer = await edit(
        as_editor, campaign_id, do="preview", source="markdown", markdown=markdown,
        subject="", segment="tag:donor", cta="none", list=["readers", "staff"],
    )  # fmt: skip
    assert answer.status_code == 303, shown(answer.text)
    assert answer.headers["location"] == f"/admin/campaigns/{campaign_id}/preview"
    campaign = stored(db, campaign_id)
    assert campaign.subject == "The bridge opens"  # no subject: the article's title
    assert (campaign.segment, campaign.ctas) == ("tag:donor", ["none"])
    assert "Cars cross the river" in campaign.rendered["html"]
    assert "The Morning Post and Staff" in campaign.rendered["html"]
    with db.session() as session:
        entry = recent_entries(session)[0]
    assert (entry.actor, entry.action) == ("eli@example.org", "campaign.edit")
    page = await as_editor.get(f"/admin/campaigns/{campaign_id}/edit")
    assert markdown.strip() in page.text and 'value=""' in page.text


async def test_the_saved_article_is_kept_when_only_the_subject_changes(
    as_editor: httpx.AsyncClient, db: Database, campaign_id: int
) -> None:
    frame = await edit(as_editor, campaign_id, "/email", source="keep", subject="Fresh")
    assert frame.status_code == 200 and "After ten dry years" in frame.text
    answer = await edit(as_editor, campaign_id, do="save", source="keep", subject="Fresh")
    assert answer.status_code == 303, shown(answer.text)
    campaign = stored(db, campaign_id)
    assert campaign.subject == "Fresh" and "After ten dry years" in campaign.rendered["html"]
    assert campaign.source == "admin: Markdown editor"
    problem = await edit(as_editor, campaign_id, do="save", source="markdown", markdown=" ")
    assert problem.status_code == 422 and "is empty" in shown(problem.text)
    assert stored(db, campaign_id).subject == "Fresh"


async def test_a_campaign_that_is_not_a_draft_is_refused_with_what_to_do(
    as_editor: httpx.AsyncClient, as_viewer: httpx.AsyncClient, db: Database, campaign_id: int
) -> None:
    page = await as_editor.get(f"/admin/campaigns/{campaign_id}/edit")
    with db.session() as session:
        session.get_one(Campaign, campaign_id).status = CampaignStatus.SCHEDULED
    refused = await as_editor.get(f"/admin/campaigns/{campaign_id}/edit")
    assert refused.status_code == 409
    assert "only a draft can be edited (unschedule it first" in shown(refused.text)
    data = {"csrf": csrf(page.text), "do": "save", "list": "readers", "source": "keep"}
    posted = await as_editor.post(f"/admin/campaigns/{campaign_id}/edit", data=data, files=FILES)
    assert posted.status_code == 409 and "unschedule it first" in shown(posted.text)
    assert stored(db, campaign_id).subject == "River news"
    campaign_page = await as_editor.get(f"/admin/campaigns/{campaign_id}")
    assert f"/admin/campaigns/{campaign_id}/edit" not in campaign_page.text
    viewer = await as_viewer.get(f"/admin/campaigns/{campaign_id}/edit")
    assert viewer.status_code == 403
