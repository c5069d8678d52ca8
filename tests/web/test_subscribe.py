"""The subscribe form, double opt-in, and the rule that its answer tells nobody who is
subscribed."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.storage import Database, MailingList, RateLimitHit, Subscriber, Subscription
from mailer.storage.models import SuppressionReason
from mailer.subscribers.privacy import forget
from mailer.subscribers.subscriptions import add_subscriber, find_subscriber, unsubscribe
from mailer.subscribers.suppression import suppress, suppression_of
from tests.support.clock import Clock
from tests.support.pages import form_token, mail_link, shown
from tests.support.web import BASE, token

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("lists")]


async def subscribe(
    client: httpx.AsyncClient, email: str, list_name: str = "weekly", **fields: str
) -> httpx.Response:
    page = await client.get(f"/subscribe/{list_name}")
    data = {"email": email, "name": "", "website": "", "csrf": form_token(page.text), **fields}
    return await client.post(f"/subscribe/{list_name}", data=data)


def status_of(db: Database, email: str, list_name: str = "weekly") -> str | None:
    with db.session() as session:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.email == email))
        if subscriber is None:
            return None
        found = [s.status.value for s in subscriber.subscriptions if s.list.name == list_name]
        return found[0] if found else None


def visible_text(page: str, email: str) -> str:
    """What a reader sees of an answer, with the address taken out."""
    body = page.split("<main>", 1)[1]
    return re.sub(r"\s+", " ", body.replace(email, "ADDRESS"))


async def test_the_form_has_a_token_and_a_honeypot(client: httpx.AsyncClient) -> None:
    page = await client.get("/subscribe/weekly")
    assert page.status_code == 200
    assert 'name="website"' in page.text and 'class="trap"' in page.text
    assert form_token(page.text)
    assert '<label for="email">' in page.text  # accessible: every field has a label
    assert "set-cookie" not in page.headers


async def test_an_unknown_list_is_a_clear_404(client: httpx.AsyncClient) -> None:
    page = await client.get("/subscribe/nope")
    assert page.status_code == 404
    assert "We have no list called “nope”." in page.text


async def test_double_opt_in_sends_a_link_that_confirms_once_and_for_all(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    answer = await subscribe(client, "new@example.org", name="Ada Lovelace")
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    assert status_of(db, "new@example.org") == "unconfirmed"
    (mail,) = outbox
    assert mail["To"].addresses[0].addr_spec == "new@example.org"
    assert mail["X-Mailer-Delivery"].startswith("confirm.")
    link = mail_link(mail, "/confirm/")
    confirmed = await client.get(link)
    assert confirmed.status_code == 200
    assert "You're subscribed" in shown(confirmed.text)
    assert f'href="{BASE}/preferences/' in confirmed.text
    assert status_of(db, "new@example.org") == "confirmed"
    again = await client.get(link)
    assert again.status_code == 200 and "You're subscribed" in shown(again.text)
    with db.session() as session:
        subscriber = find_subscriber(session, "new@example.org")
        assert subscriber.name == "Ada Lovelace"
        assert subscriber.subscriptions[0].status_source == "web"


async def test_an_expired_or_tampered_link_changes_nothing(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage], clock: Clock
) -> None:
    await subscribe(client, "late@example.org")
    link = mail_link(outbox[0], "/confirm/")
    payload, signature = link.removeprefix("/confirm/").split(".")
    tampered = await client.get(f"/confirm/{payload}.{signature[::-1]}")
    assert tampered.status_code == 400
    assert "not valid" in tampered.text
    cut = await client.get(f"/confirm/{payload}")
    assert cut.status_code == 400 and "damaged" in cut.text
    clock.now += timedelta(days=7, minutes=1)
    expired = await client.get(link)
    assert expired.status_code == 400
    assert "expired" in expired.text
    assert status_of(db, "late@example.org") == "unconfirmed"


async def test_a_token_for_another_purpose_does_not_confirm(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    await subscribe(client, "other@example.org")
    with db.session() as session:
        subscriber = find_subscriber(session, "other@example.org")
        ids = subscriber.id, subscriber.subscriptions[0].list_id
    answer = await client.get(f"/confirm/{token('unsubscribe', *ids)}")
    assert answer.status_code == 400
    assert status_of(db, "other@example.org") == "unconfirmed"


async def test_a_single_opt_in_list_subscribes_at_once(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    answer = await subscribe(client, "quick@example.org", "daily")
    assert answer.status_code == 200
    assert status_of(db, "quick@example.org", "daily") == "confirmed"
    assert outbox == []


async def test_the_answer_is_the_same_whoever_the_address_is(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    with db.session() as session:
        add_subscriber(session, "member@example.org", "weekly", name="Member", confirmed=True)
        add_subscriber(session, "waiting@example.org", "weekly")
        add_subscriber(session, "gone@example.org", "weekly", confirmed=True)
        unsubscribe(session, "gone@example.org", "weekly")
        add_subscriber(session, "bounced@example.org", "daily")
        suppress(session, "bounced@example.org", SuppressionReason.HARD_BOUNCE)
    for list_name in ("weekly", "daily"):
        answers = {}
        for email in (
            "fresh-" + list_name + "@example.org",
            "member@example.org",
            "waiting@example.org",
            "gone@example.org",
            "bounced@example.org",
        ):
            answer = await subscribe(client, email, list_name)
            answers[email] = (answer.status_code, visible_text(answer.text, email))
        assert len(set(answers.values())) == 1, answers
    # Nothing about the stored subscriber changed through the form.
    assert status_of(db, "member@example.org") == "confirmed"
    assert status_of(db, "gone@example.org") == "unsubscribed"
    with db.session() as session:
        assert find_subscriber(session, "member@example.org").name == "Member"
        assert suppression_of(session, "bounced@example.org") is not None


async def test_an_address_that_left_comes_back_only_by_confirming(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    with db.session() as session:
        add_subscriber(session, "back@example.org", "daily")
        unsubscribe(session, "back@example.org", "daily")
    await subscribe(client, "back@example.org", "daily")
    assert status_of(db, "back@example.org", "daily") == "unsubscribed"
    (mail,) = outbox
    answer = await client.get(mail_link(mail, "/confirm/"))
    assert answer.status_code == 200
    assert status_of(db, "back@example.org", "daily") == "confirmed"


async def test_a_suppressed_address_is_lifted_only_by_confirming(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    with db.session() as session:
        add_subscriber(session, "spam@example.org", "daily")
        suppress(session, "spam@example.org", SuppressionReason.COMPLAINT)
    await subscribe(client, "spam@example.org", "weekly")
    with db.session() as session:
        assert suppression_of(session, "spam@example.org") is not None
    assert status_of(db, "spam@example.org", "weekly") is None
    await client.get(mail_link(outbox[0], "/confirm/"))
    with db.session() as session:
        assert suppression_of(session, "spam@example.org") is None
    assert status_of(db, "spam@example.org", "weekly") == "confirmed"


async def test_a_forgotten_address_is_stored_again_only_when_it_confirms(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    with db.session() as session:
        add_subscriber(session, "erased@example.org", "weekly", confirmed=True)
        forget(session, "erased@example.org")
    await subscribe(client, "erased@example.org", "weekly", name="Someone Else")
    assert status_of(db, "erased@example.org") is None  # nothing stored yet
    answer = await client.get(mail_link(outbox[0], "/confirm/"))
    assert answer.status_code == 200
    assert status_of(db, "erased@example.org") == "confirmed"


async def test_the_honeypot_pretends_and_does_nothing(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    answer = await subscribe(client, "bot@example.org", website="http://spam.example")
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    assert status_of(db, "bot@example.org") is None
    assert outbox == []


async def test_list_bombing_is_rate_limited_per_client_and_per_address(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage], clock: Clock
) -> None:
    # The limit is 5 an hour; everything here comes from one client.
    for n in range(5):
        assert (await subscribe(client, f"victim{n}@example.org")).status_code == 200
    blocked = await subscribe(client, "victim5@example.org")
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text
    assert status_of(db, "victim5@example.org") is None
    clock.now += timedelta(hours=1, seconds=1)
    assert (await subscribe(client, "victim5@example.org")).status_code == 200
    assert len(outbox) == 6


async def test_one_address_is_rate_limited_across_clients(
    app: FastAPI, db: Database, outbox: list[EmailMessage]
) -> None:
    answers = []
    for n in range(6):
        transport = httpx.ASGITransport(app=app, client=(f"192.0.2.{n}", 4000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            answers.append((await subscribe(client, "target@example.org")).status_code)
    assert answers == [200] * 5 + [429]
    assert len(outbox) == 5


async def test_a_subscription_and_its_rate_limit_hits_commit_together(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One writing transaction a subscription (on SQLite one commit and one fsync, not
    three); a form that is no subscription still costs its client a hit."""
    writes = []
    writing = db.writing

    @contextlib.contextmanager
    def counted() -> Iterator[Session]:
        writes.append(1)
        with writing() as session:
            yield session

    monkeypatch.setattr(db, "writing", counted)
    assert (await subscribe(client, "one@example.org")).status_code == 200
    assert len(writes) == 1
    assert (await subscribe(client, "not an address")).status_code == 422
    assert len(writes) == 2
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RateLimitHit)) == 3


async def test_a_form_without_a_valid_token_is_refused(
    client: httpx.AsyncClient, db: Database
) -> None:
    answer = await client.post(
        "/subscribe/weekly", data={"email": "x@example.org", "csrf": "123.abc"}
    )
    assert answer.status_code == 400
    assert "expired" in answer.text
    assert status_of(db, "x@example.org") is None


async def test_a_post_from_another_site_is_refused(client: httpx.AsyncClient, db: Database) -> None:
    page = await client.get("/subscribe/weekly")
    answer = await client.post(
        "/subscribe/weekly",
        data={"email": "x@example.org", "csrf": form_token(page.text)},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert status_of(db, "x@example.org") is None


async def test_a_bad_address_shows_the_form_again(client: httpx.AsyncClient) -> None:
    for bad in ("not an address", "", "a@" + "b" * 400 + ".org", "x@y@z"):
        answer = await subscribe(client, bad)
        assert answer.status_code == 422
        assert "valid email address" in answer.text
        assert 'name="csrf"' in answer.text


async def test_confirming_after_leaving_does_not_resubscribe(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    await subscribe(client, "fickle@example.org")
    with db.session() as session:
        unsubscribe(session, "fickle@example.org", "weekly")
    answer = await client.get(mail_link(outbox[0], "/confirm/"))
    assert answer.status_code == 409
    assert status_of(db, "fickle@example.org") == "unsubscribed"


async def test_a_confirmation_for_a_deleted_list_or_subscriber_is_a_clear_404(
    client: httpx.AsyncClient, db: Database, outbox: list[EmailMessage]
) -> None:
    await subscribe(client, "soon-gone@example.org")
    link = mail_link(outbox[0], "/confirm/")
    with db.session() as session:
        subscriber = find_subscriber(session, "soon-gone@example.org")
        for subscription in list(subscriber.subscriptions):
            session.delete(subscription)
    assert (await client.get(link)).status_code == 404
    with db.session() as session:
        session.delete(find_subscriber(session, "soon-gone@example.org"))
    assert (await client.get(link)).status_code == 404
    assert (await client.get(f"/confirm/{token('confirm', 1, 999)}")).status_code == 404
    with db.session() as session:
        assert session.scalar(select(Subscription)) is None


async def test_a_list_name_from_before_the_slug_rule_works(
    client: httpx.AsyncClient, db: Database
) -> None:
    # New lists' names are slugs; older ones, stored straight here, keep working.
    with db.session() as session:
        session.add(MailingList(name="Morning Briefing / EU"))
    page = await client.get("/subscribe/Morning Briefing %2F EU")
    assert page.status_code == 404  # a slash cannot be part of the path: a clear 404
    with db.session() as session:
        session.add(MailingList(name="Morning Briefing"))
    page = await client.get("/subscribe/Morning Briefing")
    assert "Subscribe to Morning Briefing" in page.text  # its title is its name
    assert 'action="/subscribe/Morning%20Briefing"' in page.text
    answer = await subscribe(client, "early@example.org", "Morning Briefing")
    assert answer.status_code == 200
    assert status_of(db, "early@example.org", "Morning Briefing") == "confirmed"


async def test_a_name_over_the_cap_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, db: Database
) -> None:
    answer = await subscribe(client, "long@example.org", name="n" * 301)
    assert answer.status_code == 422
    assert "A name has at most 300 characters." in answer.text
    assert status_of(db, "long@example.org") is None
    fine = await subscribe(client, "long@example.org", name="n" * 300)
    assert fine.status_code == 200
