"""One subscriber's page data, and editing their fields by id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailer.exceptions import InputError, NotFound, TooLarge
from mailer.storage import Campaign, Database, Delivery, Event, EventKind, SuppressionReason
from mailer.subscribers.detail import RECENT, edit_subscriber, subscriber_detail
from mailer.subscribers.lists import create_list
from mailer.subscribers.privacy import forget
from mailer.subscribers.subscriptions import add_subscriber, find_subscriber
from mailer.subscribers.suppression import suppress

START = datetime(2026, 11, 1, 9, tzinfo=UTC)


@pytest.fixture
def ann(db: Database) -> int:
    """Ann on two lists, sent 25 campaigns, with events of every kind."""
    with db.session() as session:
        create_list(session, "news", title="The News")
        create_list(session, "alerts", double_opt_in=True)
        add_subscriber(
            session, "Ann@Example.org", "news", name="Ann Lee", tags=["donor"], now=START
        )
        sub = add_subscriber(session, "ann@example.org", "alerts", source="web", now=START)
        subscriber_id = sub.subscriber_id
        news_id = sub.list_id
        for n in range(25):
            campaign = Campaign(uid=f"c{n}", subject=f"Issue {n}", from_address="a@example.org")
            session.add(campaign)
            session.flush()
            session.add(
                Delivery(
                    campaign_id=campaign.id,
                    subscriber_id=subscriber_id,
                    list_id=news_id,
                    status="sent",
                    sent_at=START + timedelta(days=n),
                )
            )
            for kind in (EventKind.DELIVERED, EventKind.OPENED):
                session.add(
                    Event(
                        kind=kind,
                        campaign_id=campaign.id,
                        subscriber_id=subscriber_id,
                        occurred_at=START + timedelta(days=n, hours=1),
                    )
                )
        session.add(
            Event(
                kind=EventKind.BOUNCED,
                hard=True,
                reason="550 no such user",
                subscriber_id=subscriber_id,
                occurred_at=START + timedelta(days=40),
            )
        )
    return subscriber_id


def test_the_page_shows_the_person_their_lists_and_their_latest(db: Database, ann: int) -> None:
    with db.session() as session:
        detail = subscriber_detail(session, ann)
    assert (detail.email, detail.name, detail.tags) == ("Ann@example.org", "Ann Lee", ["donor"])
    assert [
        (s.list_name, s.list_title, s.status, s.status_source) for s in detail.subscriptions
    ] == [
        ("alerts", "alerts", "unconfirmed", "web"),
        ("news", "The News", "confirmed", "cli"),
    ]
    assert detail.suppressed is None and detail.suppressed_since is None
    assert len(detail.events) == RECENT
    assert detail.events[0].kind == "bounced" and detail.events[0].hard
    assert detail.events[0].reason == "550 no such user"
    assert {e.kind for e in detail.events} == {"bounced", "opened"}  # no "delivered"
    times = [e.occurred_at for e in detail.events]
    assert times == sorted(times, reverse=True)
    assert len(detail.deliveries) == RECENT
    assert [d.subject for d in detail.deliveries[:2]] == ["Issue 24", "Issue 23"]
    assert detail.deliveries[0].status == "sent"


def test_a_suppressed_subscriber_says_why(db: Database, ann: int) -> None:
    with db.session() as session:
        suppress(session, "ann@example.org", SuppressionReason.HARD_BOUNCE, now=START)
    with db.session() as session:
        detail = subscriber_detail(session, ann)
    assert detail.suppressed == "hard_bounce" and detail.suppressed_since == START


def test_a_forgotten_subscriber_has_no_page(db: Database, ann: int) -> None:
    with db.session() as session:
        forget(session, "ann@example.org")
    with db.session() as session, pytest.raises(NotFound, match="#"):
        subscriber_detail(session, ann)
    with db.session() as session, pytest.raises(NotFound):
        edit_subscriber(session, ann, name="x")


def test_editing_replaces_what_is_given_and_keeps_the_rest(db: Database, ann: int) -> None:
    with db.session() as session:
        edit_subscriber(
            session,
            ann,
            tags=[" press ", "", "donor", "press"],
            attributes={"city": "Bonn"},
            timezone="Europe/Berlin",
        )
    with db.session() as session:
        stored = find_subscriber(session, "ann@example.org")
        assert (stored.name, stored.tags, stored.attributes, stored.timezone) == (
            "Ann Lee",
            ["donor", "press"],
            {"city": "Bonn"},
            "Europe/Berlin",
        )
        edit_subscriber(session, ann, name=" Ann\nMarie Lee ", timezone="")
    with db.session() as session:
        stored = find_subscriber(session, "ann@example.org")
        assert stored.timezone is None and stored.tags == ["donor", "press"]
        assert "\n" not in stored.name and stored.name.startswith("Ann")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "x" * 301}, TooLarge),
        ({"tags": ["t" * 101]}, TooLarge),
        ({"attributes": {"k" * 101: 1}}, TooLarge),
        ({"timezone": "Mars/Olympus"}, InputError),
    ],
)
def test_editing_checks_like_every_other_way_in(
    db: Database, ann: int, fields: dict[str, object], error: type[Exception]
) -> None:
    with db.session() as session:
        with pytest.raises(error):
            edit_subscriber(session, ann, **{"name": "Changed", **fields})  # type: ignore[arg-type]
        assert find_subscriber(session, "ann@example.org").name == "Ann Lee"  # nothing changed
