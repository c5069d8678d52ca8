"""/admin/subscribers: the search by address, name and tag with its filters and keyset
pages, and one subscriber's page (edit, unsubscribe, forget, export), by role."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy import select

from mailer.addresses import address_hash
from mailer.storage import AuditEntry, Database
from mailer.storage.models import Subscriber, Suppression
from mailer.subscribers.subscriptions import add_subscriber
from tests.support.admin import ADMIN, csrf, post_form, shown
from tests.support.clock import Clock

pytestmark = pytest.mark.anyio


@pytest.fixture
def people(db: Database, clock: Clock, lists: None) -> dict[str, int]:
    """Ana (weekly and daily, tagged donor), Ben (weekly) and 60 readers of daily."""
    with db.session() as session:
        ana = add_subscriber(
            session, "ana@example.com", "weekly", name="Ana Okafor", tags=["donor"], now=clock()
        )
        add_subscriber(session, "ana@example.com", "daily", now=clock())
        ben = add_subscriber(session, "ben@example.org", "weekly", confirmed=True, now=clock())
        for n in range(60):
            add_subscriber(session, f"reader{n:02}@example.net", "daily", now=clock())
        return {"ana": ana.subscriber_id, "ben": ben.subscriber_id}


def _actions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_search_by_name_address_and_tag_with_filters(
    people: dict[str, int], as_viewer: httpx.AsyncClient
) -> None:
    by_name = shown((await as_viewer.get("/admin/subscribers", params={"q": "okafor"})).text)
    assert "ana@example.com Ana Okafor" in by_name
    assert "ben@example.org" not in by_name
    by_domain = shown(
        (await as_viewer.get("/admin/subscribers", params={"q": "@example.org"})).text
    )
    assert "ben@example.org" in by_domain and "ana@example.com" not in by_domain
    by_tag = shown((await as_viewer.get("/admin/subscribers", params={"tag": "donor"})).text)
    assert "ana@example.com" in by_tag and "ben@example.org" not in by_tag
    confirmed = await as_viewer.get(
        "/admin/subscribers", params={"list": "weekly", "status": "confirmed"}
    )
    text = shown(confirmed.text)
    assert "ben@example.org" in text and "ana@example.com" not in text
    assert '<option value="weekly" selected>' in confirmed.text


async def test_pages_go_on_by_cursor_and_back(
    people: dict[str, int], as_viewer: httpx.AsyncClient
) -> None:
    first = await as_viewer.get("/admin/subscribers", params={"list": "daily"})
    assert first.text.count('href="/admin/subscribers/') == 50
    assert 'rel="prev"' not in first.text
    found = re.search(r'href="(/admin/subscribers\?[^"]*after=[^"]+)" rel="next"', first.text)
    assert found is not None
    second = await as_viewer.get(found.group(1).replace("&amp;", "&"))
    assert second.text.count('href="/admin/subscribers/') == 11
    assert "reader59@example.net" in second.text and "reader10@example.net" not in second.text
    assert 'rel="next"' not in second.text
    back = re.search(r'href="(/admin/subscribers\?[^"]*before=[^"]+)" rel="prev"', second.text)
    assert back is not None
    again = await as_viewer.get(back.group(1).replace("&amp;", "&"))
    assert again.text.count('href="/admin/subscribers/') == 50
    assert "ana@example.com" in again.text


async def test_a_bad_cursor_is_a_clear_error(as_viewer: httpx.AsyncClient) -> None:
    answer = await as_viewer.get("/admin/subscribers", params={"after": "not-a-cursor"})
    assert answer.status_code == 422


async def test_the_page_shows_the_person_and_their_lists(
    people: dict[str, int], as_viewer: httpx.AsyncClient
) -> None:
    page = await as_viewer.get(f"/admin/subscribers/{people['ana']}")
    assert page.status_code == 200
    text = shown(page.text)
    assert "ana@example.com" in text and "The Weekly unconfirmed" in text
    assert "The Daily confirmed" in text
    # A viewer reads: no form to change anything.
    assert "Forget this person" not in text and "<textarea" not in page.text
    refused = await as_viewer.post(
        f"/admin/subscribers/{people['ana']}", data={"csrf": csrf(page.text), "name": "X"}
    )
    assert refused.status_code == 403
    assert (await as_viewer.get("/admin/subscribers/999999")).status_code == 404


async def test_an_editor_edits_and_unsubscribes_but_may_not_forget(
    db: Database, people: dict[str, int], as_editor: httpx.AsyncClient
) -> None:
    path = f"/admin/subscribers/{people['ana']}"
    edited = await post_form(
        as_editor,
        path,
        path,
        name="Ana O.",
        tags="donor, monthly",
        timezone="Africa/Lagos",
        attributes="city=Lagos\nrating=5",
    )
    assert edited.status_code == 303
    with db.session() as session:
        ana = session.get(Subscriber, people["ana"])
        assert ana is not None
        assert (ana.name, ana.tags, ana.timezone) == (
            "Ana O.",
            ["donor", "monthly"],
            "Africa/Lagos",
        )
        assert ana.attributes == {"city": "Lagos", "rating": 5}
    left = await post_form(as_editor, path, f"{path}/unsubscribe", list="weekly")
    assert left.status_code == 303
    assert "Unsubscribed from weekly." in shown((await as_editor.get(path)).text)
    assert "The Weekly unsubscribed" in shown((await as_editor.get(path)).text)
    page = await as_editor.get(path)
    refused = await as_editor.post(
        f"{path}/forget", data={"csrf": csrf(page.text), "confirm": "ana@example.com"}
    )
    assert refused.status_code == 403
    assert "Forgetting a subscriber needs an admin's role" in shown(refused.text)
    assert _actions(db)[-2:] == ["subscriber.edit", "subscriber.unsubscribe"]


async def test_unsubscribing_from_every_list_suppresses_the_address(
    db: Database, people: dict[str, int], as_editor: httpx.AsyncClient
) -> None:
    path = f"/admin/subscribers/{people['ana']}"
    answer = await post_form(as_editor, path, f"{path}/unsubscribe")
    assert answer.status_code == 303
    text = shown((await as_editor.get(path)).text)
    assert "The Weekly unsubscribed" in text and "The Daily unsubscribed" in text
    assert "suppressed" in text


async def test_an_admin_forgets_someone_after_typing_their_address(
    db: Database, people: dict[str, int], as_admin: httpx.AsyncClient
) -> None:
    path = f"/admin/subscribers/{people['ana']}"
    wrong = await post_form(as_admin, path, f"{path}/forget", confirm="ben@example.org")
    assert wrong.status_code == 422
    answer = await post_form(as_admin, path, f"{path}/forget", confirm="ANA@example.com")
    assert answer.status_code == 303
    assert (await as_admin.get(path)).status_code == 404
    with db.session() as session:
        assert session.get(Subscriber, people["ana"]) is None
        kept = session.scalars(select(Suppression.address_hash)).all()
        assert kept == [address_hash("ana@example.com")]
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.actor, entry.action) == (ADMIN, "subscriber.forget")
        # The log keeps no trace of what was erased.
        assert "ana@example.com" not in f"{entry.target} {entry.detail}"


async def test_their_data_downloads_as_json(
    people: dict[str, int], as_viewer: httpx.AsyncClient
) -> None:
    answer = await as_viewer.get(f"/admin/subscribers/{people['ana']}/data.json")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    data = json.loads(answer.text)
    assert data["email"] == "ana@example.com"
    assert sorted(s["list"] for s in data["subscriptions"]) == ["daily", "weekly"]


async def test_a_refused_edit_shows_the_form_again_with_what_was_typed(
    db: Database, people: dict[str, int], as_editor: httpx.AsyncClient
) -> None:
    path = f"/admin/subscribers/{people['ana']}"
    answer = await post_form(
        as_editor, path, path, name="Ana O.", tags="donor", attributes="no equals sign"
    )
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "must look like key=value" in shown(answer.text)
    assert 'value="Ana O."' in answer.text
    with db.session() as session:
        ana = session.get(Subscriber, people["ana"])
        assert ana is not None and ana.name == "Ana Okafor"
