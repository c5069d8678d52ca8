"""What readers read: every page and mail names a list by its title, never its slug,
and says what happened in plain sentences; the subscribe answer still reads the same
whoever the address is."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest

from mailer.storage import Database
from mailer.subscribers.subscriptions import add_subscriber, find_subscriber, unsubscribe
from tests.support.clock import Clock
from tests.support.pages import form_token, mail_link, shown
from tests.support.web import AUTH, Sent, token

pytestmark = [pytest.mark.anyio]


async def subscribe(client: httpx.AsyncClient, email: str, list_name: str) -> httpx.Response:
    page = await client.get(f"/subscribe/{list_name}")
    return await client.post(
        f"/subscribe/{list_name}", data={"email": email, "csrf": form_token(page.text)}
    )


def words(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    content = part.get_content()
    if kind == "html":
        return shown("<main>" + content)
    return " ".join(content.split())


@pytest.mark.usefixtures("lists")
async def test_the_form_and_its_answers_name_the_title(
    client: httpx.AsyncClient, db: Database
) -> None:
    form = shown((await client.get("/subscribe/weekly")).text)
    assert "Subscribe to The Weekly" in form
    assert "We'll email you a link to confirm your subscription." in form
    assert "weekly" not in form.replace("/subscribe/weekly", "")

    double = shown((await subscribe(client, "dave@example.com", "weekly")).text)
    assert "Check your inbox" in double
    assert (
        "Thanks! If dave@example.com isn't on The Weekly yet, we've sent it an email with "
        "a link to confirm your subscription. The link works for 7 days. Nothing there? "
        "Have a look in your spam folder."
    ) in double

    single = shown((await subscribe(client, "dave@example.com", "daily")).text)
    assert (
        "Thanks for subscribing The next issue of The Daily goes to dave@example.com. "
        "Unsubscribed from us before? Then we've emailed that address a link to confirm "
        "that you want to come back, and the issues start once you open it."
    ) in single
    # Whether or not the address had left, the answer is word for word the same.
    with db.session() as session:
        unsubscribe(session, "dave@example.com", "daily")
    again = shown((await subscribe(client, "dave@example.com", "daily")).text)
    assert again == single


@pytest.mark.usefixtures("lists")
async def test_an_address_the_form_refuses_says_why(client: httpx.AsyncClient) -> None:
    answer = await subscribe(client, "ü" * 33 + "@example.com", "weekly")
    assert answer.status_code == 422
    assert (
        "Please enter a valid email address, like name@example.org. The part before the "
        "@-sign is 66 bytes long in UTF-8, more than the 64 that RFC 5321 allows."
    ) in shown(answer.text)
    assert (await subscribe(client, "ü" * 32 + "@example.com", "weekly")).status_code == 200


@pytest.mark.usefixtures("lists")
async def test_the_confirmation_mail_and_its_link_name_the_title(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage], clock: Clock
) -> None:
    await subscribe(client, "dave@example.com", "weekly")
    (mail,) = outbox
    assert mail["Subject"] == "Please confirm your subscription to The Weekly"
    for kind in ("plain", "html"):
        text = words(mail, kind)
        assert (
            "Someone, hopefully you, asked for The Weekly from The Example Times to come to "
            "this address."
        ) in text
        assert (
            "You're getting this email because someone asked to subscribe this address to "
            "The Weekly. If it wasn't you, just ignore it: without your confirmation, we "
            "won't write again."
        ) in text
        assert "weekly" not in text.replace("/confirm/", "")
    assert "Press the button to confirm, and the next issue is yours." in words(mail, "html")
    assert "Button not working? Copy this link into your browser:" in words(mail, "html")

    link = mail_link(mail, "/confirm/")
    clock.now += timedelta(days=7, minutes=1)
    expired = await client.get(link)
    assert expired.status_code == 400
    assert (
        "This link has expired A confirmation link works for 7 days. Fill in the subscribe "
        "form again, and we'll send you a new one."
    ) in shown(expired.text)
    clock.now -= timedelta(days=7)
    confirmed = shown((await client.get(link)).text)
    assert (
        "You're subscribed Thanks for confirming. You'll get The Weekly from the next "
        "issue on. Manage your lists and your data"
    ) in confirmed


@pytest.mark.usefixtures("lists")
async def test_a_confirmation_link_that_no_longer_counts_says_why(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    await subscribe(client, "dave@example.com", "weekly")
    with db.session() as session:
        unsubscribe(session, "dave@example.com", "weekly")
    stale = await client.get(mail_link(outbox[0], "/confirm/"))
    assert stale.status_code == 409
    assert (
        "This link is out of date This address unsubscribed from The Weekly, or asked us "
        "not to write to it, after we sent the link. To subscribe again, fill in the form "
        "once more. Subscribe to The Weekly"
    ) in shown(stale.text)
    assert 'href="/subscribe/weekly"' in stale.text

    payload, signature = mail_link(outbox[0], "/confirm/").split(".")
    invalid = await client.get(f"{payload}.{signature[::-1]}")
    assert invalid.status_code == 400
    assert (
        "This link doesn't work This link is not valid: it may have been changed. Fill in "
        "the subscribe form again, and we'll send you a new link."
    ) in shown(invalid.text)


async def test_a_campaign_footer_and_the_unsubscribe_pages_name_the_title(
    client: httpx.AsyncClient, db: Database, sent: Sent
) -> None:
    message = sent.messages[0]
    for kind in ("plain", "html"):
        assert (
            "You're getting this email because you subscribed to The Morning Post from "
            "The Example Times."
        ) in words(message, kind)
    link = mail_link(message, "/unsubscribe/")
    ask = shown((await client.get(link)).text)
    assert (
        "Unsubscribe from The Morning Post? We'll stop sending The Morning Post to "
        "r•••@example.org. Unsubscribe Changed your mind? Just close this page. Or choose "
        "which of our lists you get."
    ) in ask
    page = await client.get(link)
    done = await client.post(link, data={"csrf": form_token(page.text)})
    assert (
        "You're unsubscribed You won't get The Morning Post any more. An issue that was "
        "already on its way may still arrive within a day. Unsubscribed by mistake? "
        "Rejoin on your settings page"
    ) in shown(done.text)
    already = shown((await client.get(link)).text)
    assert (
        "You're already unsubscribed r•••@example.org doesn't get The Morning Post any "
        "more: there is nothing left to do. Unsubscribed by mistake? Rejoin on your "
        "settings page"
    ) in already
    with db.session() as session:
        session.delete(find_subscriber(session, "reader0@example.org"))
    gone = shown((await client.get(link)).text)
    assert (
        "Nothing to unsubscribe This address isn't on this list any more, so we send it "
        "nothing from it."
    ) in gone


@pytest.mark.usefixtures("lists")
async def test_the_settings_page_names_the_titles(client: httpx.AsyncClient, db: Database) -> None:
    with db.session() as session:
        add_subscriber(session, "ada@example.org", "daily")
        waiting = add_subscriber(session, "ada@example.org", "weekly")  # double opt-in
        ids = waiting.subscriber_id, waiting.list_id
    page = shown((await client.get(f"/preferences/{token('preferences', *ids)}")).text)
    assert (
        "Your settings Settings for ada@example.org. Your lists List Status Change "
        "The Daily subscribed Leave The Weekly waiting for your confirmation Confirm"
    ) in page
    assert "weekly" not in page and "daily" not in page


async def test_the_api_creates_and_shows_a_title_and_refuses_a_name_that_is_no_slug(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "/api/lists", json={"name": "weekly", "title": "The Weekly"}, headers=AUTH
    )
    assert created.status_code == 201 and created.json()["title"] == "The Weekly"
    shown_list = await client.get("/api/lists/weekly", headers=AUTH)
    assert shown_list.json()["title"] == "The Weekly"
    plain = await client.post("/api/lists", json={"name": "daily"}, headers=AUTH)
    assert plain.json()["title"] == "daily"
    refused = await client.post("/api/lists", json={"name": "The Weekly"}, headers=AUTH)
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "list name 'The Weekly' is refused: a list name is 1 to 64 lower-case "
        "letters a-z, digits, '-' and '_', starting with a letter or digit (like weekly-news)"
    }
    schema = (await client.get("/openapi.json", headers=AUTH)).json()
    name = schema["components"]["schemas"]["ListIn"]["properties"]["name"]
    assert name["pattern"] == "^[a-z0-9][a-z0-9_-]{0,63}$"
    too_long = await client.post(
        "/api/subscribers", json={"email": "a" * 65 + "@example.org", "list": "daily"},
        headers=AUTH,
    )  # fmt: skip
    assert too_long.status_code == 422
    assert (
        "65 bytes long in UTF-8, more than the 64 that RFC 5321 allows"
        in (too_long.json()["error"])
    )
