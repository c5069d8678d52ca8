"""A subscriber's settings page: lists to leave and rejoin, the name, their data, and
forgetting."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from mailer.storage import Database, Event, EventKind, Subscriber
from mailer.storage.models import SuppressionReason
from mailer.subscribers.subscriptions import add_subscriber, find_subscriber
from mailer.subscribers.suppression import suppress, suppression_of
from tests.support.pages import form_token, shown
from tests.support.web import token

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("lists")]


@pytest.fixture
def reader(db: Database) -> tuple[str, int, int]:
    """A reader of 'weekly' (confirmed) and 'daily'; their preferences link and ids."""
    with db.session() as session:
        weekly = add_subscriber(session, "ada@example.org", "weekly", name="Ada", confirmed=True)
        add_subscriber(session, "ada@example.org", "daily")
        ids = weekly.subscriber_id, weekly.list_id
    return f"/preferences/{token('preferences', *ids)}", *ids


def statuses(db: Database) -> dict[str, str]:
    with db.session() as session:
        subscriber = find_subscriber(session, "ada@example.org")
        return {s.list.name: s.status.value for s in subscriber.subscriptions}


async def change(client: httpx.AsyncClient, url: str, **data: str) -> httpx.Response:
    page = await client.get(url)
    return await client.post(url, data={"csrf": form_token(page.text), **data})


async def test_the_page_shows_the_lists_and_the_name(
    client: httpx.AsyncClient, reader: tuple[str, int, int]
) -> None:
    page = await client.get(reader[0])
    assert page.status_code == 200
    assert "Settings for ada@example.org." in shown(page.text)
    assert 'value="Ada"' in page.text
    # The lists by their titles, in the order of the titles.
    assert "The Daily subscribed Leave The Weekly subscribed Leave" in shown(page.text)
    assert page.text.count('value="leave"') == 2
    assert page.headers["cache-control"] == "no-store"


async def test_leaving_and_rejoining_a_list(
    client: httpx.AsyncClient, db: Database, reader: tuple[str, int, int]
) -> None:
    url, _, weekly_id = reader
    answer = await change(client, url, action="leave", list=str(weekly_id))
    assert answer.status_code == 200
    assert "You've left The Weekly." in shown(answer.text)
    assert statuses(db) == {"weekly": "unsubscribed", "daily": "confirmed"}
    assert 'value="join"' in answer.text and "Rejoin" in answer.text
    assert "The Weekly unsubscribed on 30 November 2026 Rejoin" in shown(answer.text)
    answer = await change(client, url, action="join", list=str(weekly_id))
    assert answer.status_code == 200
    assert "You're subscribed to The Weekly." in shown(answer.text)
    assert statuses(db) == {"weekly": "confirmed", "daily": "confirmed"}
    with db.session() as session:
        (event,) = session.scalars(select(Event).where(Event.kind == EventKind.UNSUBSCRIBED))
        assert event.list_id == weekly_id and event.campaign_id is None


async def test_rejoining_lifts_a_suppression_because_the_owner_asks(
    client: httpx.AsyncClient, db: Database, reader: tuple[str, int, int]
) -> None:
    url, _, weekly_id = reader
    with db.session() as session:
        suppress(session, "ada@example.org", SuppressionReason.HARD_BOUNCE)
    assert "do-not-mail list" in (await client.get(url)).text
    await change(client, url, action="leave", list=str(weekly_id))
    await change(client, url, action="join", list=str(weekly_id))
    with db.session() as session:
        assert suppression_of(session, "ada@example.org") is None


async def test_a_list_the_address_is_not_on_cannot_be_joined(
    client: httpx.AsyncClient, db: Database, reader: tuple[str, int, int]
) -> None:
    for value in ("9999", "", "x"):
        answer = await change(client, reader[0], action="join", list=value)
        assert answer.status_code == 404


async def test_changing_the_name(
    client: httpx.AsyncClient, db: Database, reader: tuple[str, int, int]
) -> None:
    answer = await change(client, reader[0], action="name", name="  Ada   King ")
    assert answer.status_code == 200
    with db.session() as session:
        assert find_subscriber(session, "ada@example.org").name == "Ada King"
    too_long = await change(client, reader[0], action="name", name="x" * 301)
    assert too_long.status_code == 422
    with db.session() as session:
        assert find_subscriber(session, "ada@example.org").name == "Ada King"


async def test_downloading_my_data(client: httpx.AsyncClient, reader: tuple[str, int, int]) -> None:
    answer = await change(client, reader[0], action="download")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="my-data.json"'
    data = answer.json()
    assert data["email"] == "ada@example.org"
    assert {s["list"] for s in data["subscriptions"]} == {"weekly", "daily"}


async def test_forgetting_asks_first_then_erases(
    client: httpx.AsyncClient, db: Database, reader: tuple[str, int, int]
) -> None:
    url = reader[0]
    question = await change(client, url, action="forget")
    assert question.status_code == 200
    assert "Yes, forget me" in question.text
    assert "This erases everything we hold about ada@example.org: your name" in shown(question.text)
    with db.session() as session:
        assert session.get(Subscriber, reader[1]) is not None
    done = await client.post(
        url, data={"csrf": form_token(question.text), "action": "forget-confirmed"}
    )
    assert done.status_code == 200
    assert "We've forgotten you" in shown(done.text)
    assert "We've erased your name, your subscriptions" in shown(done.text)
    with db.session() as session:
        assert session.get(Subscriber, reader[1]) is None
        assert suppression_of(session, "ada@example.org") is not None
    gone = await client.get(url)
    assert gone.status_code == 404
    assert "We don't hold any data about this address any more." in shown(gone.text)


async def test_changes_need_the_form_token_of_this_link(
    client: httpx.AsyncClient, db: Database, reader: tuple[str, int, int]
) -> None:
    url, _, weekly_id = reader
    for csrf in ("", "forged", form_token((await client.get("/subscribe/weekly")).text)):
        answer = await client.post(url, data={"csrf": csrf, "action": "forget-confirmed"})
        assert answer.status_code == 400
    page = await client.get(url)
    cross = await client.post(
        url,
        data={"csrf": form_token(page.text), "action": "leave", "list": str(weekly_id)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 400
    assert statuses(db) == {"weekly": "confirmed", "daily": "confirmed"}


async def test_an_unknown_action_is_a_clear_400(
    client: httpx.AsyncClient, reader: tuple[str, int, int]
) -> None:
    answer = await change(client, reader[0], action="explode")
    assert answer.status_code == 400
    assert "Unknown action" in answer.text


async def test_a_tampered_link_gets_a_clear_page(
    client: httpx.AsyncClient, reader: tuple[str, int, int]
) -> None:
    url = reader[0]
    for bad in (url[:-3] + "abc", "/preferences/x.y", f"/preferences/{token('confirm', 1, 1)}"):
        answer = await client.get(bad)
        assert answer.status_code == 400
        assert "This link doesn't work" in shown(answer.text)
        assert (await client.post(bad, data={"action": "forget-confirmed"})).status_code == 400
