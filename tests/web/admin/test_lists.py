"""/admin/lists: the lists with their counts; create, edit, delete and export, by role."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from mailer.campaigns import actions
from mailer.settings import Settings
from mailer.storage import AuditEntry, Database
from mailer.storage.models import MailingList
from mailer.subscribers.lists import get_list
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.admin import ADMIN, csrf, post_form, shown
from tests.support.examples import ARTICLE

pytestmark = pytest.mark.anyio


def _members(db: Database, now: datetime) -> None:
    with db.session() as session:
        add_subscriber(session, "ana@example.com", "weekly", name="Ana", now=now)
        add_subscriber(session, "ben@example.com", "weekly", confirmed=True, now=now)
        add_subscriber(session, "cy@example.com", "daily", now=now)


def _actions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_the_lists_page_shows_each_list_with_its_counts(
    db: Database, lists: None, as_viewer: httpx.AsyncClient
) -> None:
    _members(db, datetime(2026, 1, 5, tzinfo=UTC))
    page = await as_viewer.get("/admin/lists")
    assert page.status_code == 200
    text = shown(page.text)
    assert "The Weekly weekly double 1 1 0 2" in text
    assert "The Daily daily single 1 0 0 1" in text
    # A viewer reads, and is offered nothing to change.
    assert "Create a list" not in text


async def test_an_admin_creates_a_list_with_its_call_to_action(
    db: Database, as_admin: httpx.AsyncClient
) -> None:
    answer = await post_form(
        as_admin,
        "/admin/lists",
        "/admin/lists",
        name="culture",
        title="Culture Notes",
        description="Books and films.",
        double_opt_in="1",
        timezone="Europe/Berlin",
        cta="donate",
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/lists/culture"
    with db.session() as session:
        made = get_list(session, "culture")
        assert (made.title, made.double_opt_in, made.timezone, made.default_cta) == (
            "Culture Notes",
            True,
            "Europe/Berlin",
            ["donate"],
        )
    page = await as_admin.get("/admin/lists/culture")
    assert "Created the list culture." in shown(page.text)
    assert "list.create" in _actions(db)


async def test_a_refused_name_shows_the_form_again_with_what_was_typed(
    db: Database, as_admin: httpx.AsyncClient
) -> None:
    answer = await post_form(
        as_admin, "/admin/lists", "/admin/lists", name="Weekly News", title="Weekly"
    )
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "is refused" in shown(answer.text)
    assert 'value="Weekly News"' in answer.text
    unknown = await post_form(as_admin, "/admin/lists", "/admin/lists", name="x", cta="nope")
    assert unknown.status_code == 422
    assert "no call-to-action 'nope' (known: donate)" in shown(unknown.text)
    with db.session() as session:
        assert session.scalars(select(MailingList.name)).all() == []


async def test_an_editor_may_edit_a_list_but_not_create_or_delete_one(
    db: Database, lists: None, as_editor: httpx.AsyncClient
) -> None:
    edited = await post_form(
        as_editor,
        "/admin/lists/weekly",
        "/admin/lists/weekly",
        title="The Weekly Letter",
        description="Every Friday.",
        cta="donate",
    )
    assert edited.status_code == 303
    with db.session() as session:
        weekly = get_list(session, "weekly")
        # The box not ticked: double opt-in is off now.
        assert (weekly.title, weekly.description, weekly.double_opt_in) == (
            "The Weekly Letter",
            "Every Friday.",
            False,
        )
        assert weekly.default_cta == ["donate"]
    assert "list.edit" in _actions(db)
    page = await as_editor.get("/admin/lists/weekly")
    assert "Delete list" not in page.text
    created = await as_editor.post("/admin/lists", data={"csrf": csrf(page.text), "name": "new"})
    assert created.status_code == 403
    assert "Creating a list needs an admin's role" in shown(created.text)
    deleted = await as_editor.post(
        "/admin/lists/weekly/delete", data={"csrf": csrf(page.text), "confirm": "weekly"}
    )
    assert deleted.status_code == 403


async def test_a_viewer_may_not_edit_a_list(lists: None, as_viewer: httpx.AsyncClient) -> None:
    page = await as_viewer.get("/admin/lists/weekly")
    assert page.status_code == 200
    assert "<textarea" not in page.text
    answer = await as_viewer.post(
        "/admin/lists/weekly", data={"csrf": csrf(page.text), "title": "Mine"}
    )
    assert answer.status_code == 403
    assert "Editing a list needs an editor's role" in shown(answer.text)


async def test_an_admin_deletes_a_list_after_typing_its_name(
    db: Database, lists: None, as_admin: httpx.AsyncClient
) -> None:
    _members(db, datetime(2026, 1, 5, tzinfo=UTC))
    wrong = await post_form(
        as_admin, "/admin/lists/weekly", "/admin/lists/weekly/delete", confirm="daily"
    )
    assert wrong.status_code == 422
    answer = await post_form(
        as_admin, "/admin/lists/weekly", "/admin/lists/weekly/delete", confirm="weekly"
    )
    assert answer.status_code == 303
    assert "Deleted the list weekly (2 subscriptions)." in shown(
        (await as_admin.get("/admin/lists")).text
    )
    with db.session() as session:
        assert session.scalars(select(MailingList.name)).all() == ["daily"]
    assert "list.delete" in _actions(db)


async def test_a_list_a_campaign_uses_is_not_deleted(
    db: Database, settings: Settings, lists: None, as_admin: httpx.AsyncClient
) -> None:
    with db.session() as session:
        campaign = actions.create(session, settings, article=str(ARTICLE), lists=["weekly"])
        campaign_id = campaign.id
    answer = await post_form(
        as_admin, "/admin/lists/weekly", "/admin/lists/weekly/delete", confirm="weekly"
    )
    assert answer.status_code == 409
    assert f"is a list of campaign {campaign_id}" in shown(answer.text)
    with db.session() as session:
        assert get_list(session, "weekly") is not None
    assert "list.delete" not in _actions(db)


async def test_the_export_is_a_csv_download_an_import_reads_back(
    db: Database, lists: None, as_viewer: httpx.AsyncClient
) -> None:
    _members(db, datetime(2026, 1, 5, tzinfo=UTC))
    answer = await as_viewer.get("/admin/lists/weekly/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["email"], r["status"]) for r in rows] == [
        ("ana@example.com", "unconfirmed"),
        ("ben@example.com", "confirmed"),
    ]
    assert ADMIN not in answer.text


async def test_a_refused_edit_shows_the_form_again_with_what_was_typed(
    db: Database, lists: None, as_editor: httpx.AsyncClient
) -> None:
    answer = await post_form(
        as_editor,
        "/admin/lists/weekly",
        "/admin/lists/weekly",
        title="The Weekly Letter",
        timezone="Mars/Olympus",
    )
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "Mars/Olympus" in shown(answer.text)
    assert 'value="The Weekly Letter"' in answer.text
    with db.session() as session:
        assert get_list(session, "weekly").title == "The Weekly"
