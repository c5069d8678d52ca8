"""One-click unsubscribe (RFC 8058): a GET never unsubscribes; a POST does, without
cookies, answering 200 without a redirect, once however often it comes."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from mailer.storage import Database, Event, EventKind, Subscriber
from mailer.subscribers.privacy import forget
from tests.support.pages import form_token, mail_link, shown
from tests.support.web import BASE, Sent, token

pytestmark = pytest.mark.anyio

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def status_of(db: Database, email: str) -> str:
    with db.session() as session:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.email == email))
        assert subscriber is not None
        return subscriber.subscriptions[0].status.value


def unsubscribes(db: Database) -> list[Event]:
    with db.session() as session:
        return list(session.scalars(select(Event).where(Event.kind == EventKind.UNSUBSCRIBED)))


def link(sent: Sent, reader: int = 0) -> str:
    _, subscriber_id, _ = sent.readers[reader]
    return (
        f"/unsubscribe/{token('unsubscribe', subscriber_id, sent.list_id, str(sent.campaign_id))}"
    )


async def test_the_links_in_a_sent_mail_lead_to_that_readers_pages(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    # One token serves the unsubscribe link, the settings link and List-Unsubscribe.
    message = sent.messages[0]
    address = message["To"].addresses[0].addr_spec
    html = message.get_body(("html",))
    assert html is not None
    hrefs = re.findall(r'href="(https://news\.example\.org/(?:unsubscribe|preferences)/[^"]+)"',
                       html.get_content())  # fmt: skip
    unsubscribe = mail_link(message, "/unsubscribe/")
    preferences = mail_link(message, "/preferences/")
    assert {BASE + unsubscribe, BASE + preferences} == set(hrefs)
    assert f"<{BASE}{unsubscribe}>" in message["List-Unsubscribe"]
    assert unsubscribe.rsplit("/", 1)[1] == preferences.rsplit("/", 1)[1]

    settings_page = await client.get(preferences)
    assert settings_page.status_code == 200 and "The Morning Post" in settings_page.text
    answer = await client.post(unsubscribe, data=ONE_CLICK)
    assert "You're unsubscribed" in shown(answer.text)
    assert "You won't get The Morning Post any more." in shown(answer.text)
    assert status_of(db, address) == "unsubscribed"


async def test_a_get_shows_what_will_happen_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    page = await client.get(link(sent))
    assert page.status_code == 200
    assert "r•••@example.org" in page.text  # masked: the mail may have been forwarded
    assert "reader0@example.org" not in page.text
    assert "Unsubscribe from The Morning Post?" in page.text and "<button" in page.text
    assert "We'll stop sending The Morning Post to r•••@example.org." in shown(page.text)
    assert 'method="post"' in page.text
    assert status_of(db, "reader0@example.org") == "confirmed"


async def test_one_click_unsubscribes_with_200_and_counts_once(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    for _ in range(3):
        answer = await client.post(link(sent), data=ONE_CLICK)
        assert answer.status_code == 200
        assert "You're unsubscribed" in shown(answer.text)
        assert "set-cookie" not in answer.headers
    assert status_of(db, "reader0@example.org") == "unsubscribed"
    assert status_of(db, "reader1@example.org") == "confirmed"
    (event,) = unsubscribes(db)
    _, subscriber_id, delivery_id = sent.readers[0]
    assert (event.campaign_id, event.delivery_id, event.subscriber_id, event.list_id) == (
        sent.campaign_id,
        delivery_id,
        subscriber_id,
        sent.list_id,
    )


async def test_one_click_works_as_multipart_too(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    # RFC 8058 says mail clients SHOULD post multipart/form-data.
    answer = await client.post(link(sent, 1), files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200
    assert status_of(db, "reader1@example.org") == "unsubscribed"


async def test_the_button_posts_a_form_token_and_needs_no_cookie(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    page = await client.get(link(sent))
    client.cookies.clear()
    answer = await client.post(
        link(sent), data={"csrf": form_token(page.text)}, headers={"Origin": str(client.base_url)}
    )
    assert answer.status_code == 200
    assert status_of(db, "reader0@example.org") == "unsubscribed"


async def test_a_post_with_neither_is_refused(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    for data in ({}, {"csrf": "forged"}, {"List-Unsubscribe": "yes"}):
        answer = await client.post(link(sent), data=data)
        assert answer.status_code == 400
    # Our own form token, but posted by another site's page.
    page = await client.get(link(sent))
    answer = await client.post(
        link(sent),
        data={"csrf": form_token(page.text)},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 400
    assert status_of(db, "reader0@example.org") == "confirmed"


async def test_the_form_token_of_one_link_does_not_fit_another(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    page = await client.get(link(sent, 0))
    answer = await client.post(link(sent, 1), data={"csrf": form_token(page.text)})
    assert answer.status_code == 400
    assert status_of(db, "reader1@example.org") == "confirmed"


async def test_a_tampered_token_gets_a_clear_page_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    good = link(sent)
    payload, signature = good.removeprefix("/unsubscribe/").split(".")
    other = token("unsubscribe", sent.readers[1][1], sent.list_id).split(".")[0]
    for bad in (f"{payload}.{signature[:-2]}xx", f"{other}.{signature}", "garbage", "a.b.c"):
        for method in ("GET", "POST"):
            answer = await client.request(method, f"/unsubscribe/{bad}", data=ONE_CLICK)
            assert answer.status_code == 400, (bad, method)
            assert "This link doesn&#39;t work" in answer.text
    assert {status_of(db, e) for e, _, _ in sent.readers} == {"confirmed"}
    # A token for another purpose does not unsubscribe either.
    answer = await client.post(
        f"/unsubscribe/{token('preferences', sent.readers[0][1], sent.list_id)}", data=ONE_CLICK
    )
    assert answer.status_code == 400


async def test_an_old_link_of_a_forgotten_subscriber_is_answered_calmly(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    with db.session() as session:
        forget(session, "reader2@example.org")
    answer = await client.post(link(sent, 2), data=ONE_CLICK)
    assert answer.status_code == 200
    assert "Nothing to unsubscribe" in answer.text
    assert (await client.get(link(sent, 2))).status_code == 200
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0


async def test_the_generic_page_explains_where_the_links_are(client: httpx.AsyncClient) -> None:
    for path in ("/unsubscribe", "/preferences"):
        answer = await client.get(path)
        assert answer.status_code == 200
        assert "bottom of any email" in answer.text
