"""The composer: the article from each way in, the subject tried on a reader, the count
of recipients, and the draft it saves."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mailer.accounts.audit import recent_entries
from mailer.settings import Settings
from mailer.storage import Campaign, CampaignStatus, Database
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.admin import csrf, shown
from tests.support.examples import ARTICLE
from tests.support.http import serving

pytestmark = pytest.mark.anyio

NEW = "/admin/campaigns/new"
MARKDOWN = "# The river is back\n\nAfter ten dry years the river runs again.\n"


@pytest.fixture
def readers(db: Database) -> None:
    """'readers' with two confirmed members, one tagged donor."""
    with db.session() as session:
        create_list(session, "readers", title="The Morning Post")
        add_subscriber(
            session, "ada@example.org", "readers", name="Ada Lovelace", confirmed=True,
            tags=["donor"],
        )  # fmt: skip
        add_subscriber(session, "bob@example.org", "readers", name="Bob Ross", confirmed=True)


async def compose(
    client: httpx.AsyncClient, do: str, files: dict[str, Any] | None = None, **fields: Any
) -> httpx.Response:
    page = await client.get(NEW)
    assert page.status_code == 200, page.text
    data = {"csrf": csrf(page.text), "do": do, "list": "readers", **fields}
    return await client.post(NEW, data=data, files=files or {"file": ("", b"")})


def saved(db: Database) -> Campaign:
    with db.session() as session:
        campaign = session.scalars(select(Campaign)).one()
        session.expunge(campaign)
        return campaign


async def test_the_composer_shows_every_way_in_lists_and_calls_to_action(
    as_editor: httpx.AsyncClient, readers: None
) -> None:
    page = await as_editor.get(NEW)
    assert page.status_code == 200
    text = shown(page.text)
    for label in ("Write in Markdown", "Paste text or HTML", "Upload a file", "web address"):
        assert label in text
    assert "The Morning Post" in text and "2 confirmed" in text
    assert 'name="cta" value="donate"' in page.text
    assert "<script>" not in page.text and " style=" not in page.text


async def test_markdown_from_the_editor_is_saved_as_a_draft(
    as_editor: httpx.AsyncClient, readers: None, db: Database
) -> None:
    answer = await compose(as_editor, "save", source="markdown", markdown=MARKDOWN)
    assert answer.status_code == 303, shown(answer.text)
    campaign = saved(db)
    assert answer.headers["location"] == f"/admin/campaigns/{campaign.id}"
    assert campaign.status is CampaignStatus.DRAFT
    assert campaign.subject == "The river is back"
    assert campaign.source == "admin: Markdown editor"
    assert campaign.article["title"] == "The river is back"
    with db.session() as session:
        (entry,) = [e for e in recent_entries(session, limit=10) if e.action == "campaign.create"]
    assert entry.actor == "eli@example.org" and entry.target == f"campaign {campaign.id}"


async def test_pasted_html_with_a_subject_segment_and_no_call_to_action(
    as_admin: httpx.AsyncClient, readers: None, db: Database
) -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Council votes</title></head><body><article>"
        "<h1>Council votes</h1><p>The council voted on the budget last night, at last.</p>"
        "</article></body></html>"
    )
    answer = await compose(
        as_admin,
        "preview",
        source="paste",
        text=page,
        format="html",
        subject='News for {{ subscriber.first_name | default("friend") }}',
        segment="tag:donor",
        cta="none",
    )
    assert answer.status_code == 303, shown(answer.text)
    campaign = saved(db)
    assert answer.headers["location"] == f"/admin/campaigns/{campaign.id}/preview"
    assert campaign.segment == "tag:donor" and campaign.ctas == ["none"]
    assert campaign.article["title"] == "Council votes"


async def test_an_uploaded_file_is_read_by_its_kind(
    as_editor: httpx.AsyncClient, readers: None, db: Database
) -> None:
    files = {"file": ("article.md", ARTICLE.read_bytes(), "text/markdown")}
    answer = await compose(as_editor, "save", files=files, source="upload")
    assert answer.status_code == 303, shown(answer.text)
    campaign = saved(db)
    assert campaign.source == "admin: upload of article.md"
    assert campaign.article["title"]


class _Story(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/story":
            self.send_error(404)
            return
        body = (
            b"<!DOCTYPE html><html><head><title>Bridge opens</title></head><body><article>"
            b"<h1>Bridge opens</h1><p>The new bridge opened to walkers and cyclists today.</p>"
            b"</article></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


async def test_an_article_from_a_web_address(
    as_editor: httpx.AsyncClient, readers: None, db: Database, settings: Settings
) -> None:
    with serving(_Story) as base:
        # The server fetches it, not the editor's browser: not from its own network...
        refused = await compose(as_editor, "save", source="url", url=f"{base}/story")
        assert refused.status_code == 422
        assert "127.0.0.1 is a loopback address" in shown(refused.text)
        assert "fetch_private_addresses = true" in shown(refused.text)
        # ...unless the publisher's site is on that network.
        settings.fetch_private_addresses = True
        answer = await compose(as_editor, "save", source="url", url=f"{base}/story")
        assert answer.status_code == 303, shown(answer.text)
        assert saved(db).article["title"] == "Bridge opens"
        missing = await compose(as_editor, "save", source="url", url=f"{base}/gone")
    assert missing.status_code == 422
    assert "HTTP 404" in shown(missing.text)
    assert f'value="{base}/gone"' in missing.text  # kept to fix


async def test_problems_come_back_in_the_form_with_the_values_kept(
    as_editor: httpx.AsyncClient, readers: None, db: Database
) -> None:
    empty = await compose(as_editor, "save", source="paste", text="   ", subject="Kept subject")
    assert empty.status_code == 422
    assert "the pasted text: is empty" in shown(empty.text)
    assert 'value="Kept subject"' in empty.text
    local = await compose(as_editor, "save", source="url", url="/etc/passwd")
    assert local.status_code == 422 and "must start with https://" in shown(local.text)
    segment = await compose(as_editor, "save", markdown=MARKDOWN, segment="tag:donor and (")
    assert segment.status_code == 422 and "column" in shown(segment.text)
    assert MARKDOWN.strip() in segment.text
    with db.session() as session:
        assert session.scalars(select(Campaign)).all() == []


async def test_a_failed_upload_comes_back_as_pasted_text(
    as_editor: httpx.AsyncClient, readers: None
) -> None:
    files = {"file": ("notes.md", b"# Title only\n", "text/markdown")}
    answer = await compose(as_editor, "save", files=files, source="upload", subject="{{ x")
    assert answer.status_code == 422
    assert "# Title only" in answer.text
    assert 'value="paste" checked' in answer.text


async def test_the_subject_is_tried_on_the_first_confirmed_reader(
    as_editor: httpx.AsyncClient, readers: None
) -> None:
    answer = await compose(
        as_editor, "check", subject='Hello {{ subscriber.first_name | default("friend") }}!'
    )
    assert answer.status_code == 200
    assert "For ada@example.org (readers): Hello Ada!" in shown(answer.text)
    wrong = await compose(as_editor, "check", subject="Hello {{ subscriber.first_name (")
    assert wrong.status_code == 422
    assert "without its other half" in shown(wrong.text) and "(at character 7)" in shown(wrong.text)
    broken = await compose(as_editor, "check", subject="Hi {{ subscriber.name ( }}")
    assert broken.status_code == 422 and "(at character 4)" in shown(broken.text)


async def test_a_list_without_readers_tries_the_subject_on_a_nameless_one(
    as_editor: httpx.AsyncClient, db: Database
) -> None:
    with db.session() as session:
        create_list(session, "readers")
    answer = await compose(
        as_editor, "check", subject='Hello {{ subscriber.first_name or "friend" }}'
    )
    assert "a reader with no name on record: Hello friend" in shown(answer.text)
    # default() stands in for a field that is missing, not for an empty one: the check
    # shows what such a reader really gets.
    empty = await compose(
        as_editor, "check", subject='Hello {{ subscriber.first_name | default("friend") }}!'
    )
    assert "a reader with no name on record: Hello !" in shown(empty.text)


async def test_the_count_button_and_the_live_count(
    as_editor: httpx.AsyncClient, readers: None
) -> None:
    answer = await compose(as_editor, "count", segment="")
    assert "2 recipients" in shown(answer.text)
    answer = await compose(as_editor, "count", segment="tag:donor")
    assert "1 recipient" in shown(answer.text)
    live = await as_editor.get(f"{NEW}/count", params={"list": "readers", "segment": "tag:donor"})
    assert live.status_code == 200
    assert live.json() == {
        "count": 1, "members": 2, "sampled": 2, "exact": True, "text": "1 recipient",
    }  # fmt: skip
    bad = await as_editor.get(f"{NEW}/count", params={"list": "readers", "segment": "tag:"})
    assert bad.status_code == 422 and "column" in bad.json()["problem"]
    unknown = await as_editor.get(f"{NEW}/count", params={"list": "nope"})
    assert unknown.status_code == 422 and "nope" in unknown.json()["problem"]


async def test_a_viewer_may_not_compose(as_viewer: httpx.AsyncClient, readers: None) -> None:
    for path in (NEW, f"{NEW}/count"):
        answer = await as_viewer.get(path)
        assert answer.status_code == 403
        assert "needs an editor's role" in shown(answer.text)


async def test_the_drafts_email_is_rendered_into_the_frame_without_saving(
    as_editor: httpx.AsyncClient, readers: None, db: Database
) -> None:
    page = await as_editor.get(NEW)
    assert 'formaction="/admin/campaigns/new/email" formtarget="draft-email"' in page.text
    assert '<iframe name="draft-email"' in page.text
    fields = {"csrf": csrf(page.text), "list": "readers", "source": "markdown"}
    files = {"file": ("", b"")}
    data = {**fields, "markdown": MARKDOWN, "subject": "Hi {{ subscriber.first_name }}"}
    answer = await as_editor.post(f"{NEW}/email", data=data, files=files)
    assert answer.status_code == 200
    assert "The river is back" in answer.text and "The Morning Post" in answer.text
    assert "frame-ancestors 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    assert "%%" not in answer.text
    dark = await as_editor.post(f"{NEW}/email", params={"dark": "1"}, data=data, files=files)
    assert "<body data-ogsc" in dark.text
    empty = await as_editor.post(f"{NEW}/email", data={**fields, "markdown": ""}, files=files)
    assert empty.status_code == 422 and "is empty" in empty.text
    with db.session() as session:
        assert session.scalars(select(Campaign)).all() == []
