"""The ledger's tallies: whatever the ledger's functions do to a campaign's rows, in any
order, the tallies say what a GROUP BY over the rows says; migration 0008 tallies the
rows already there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from mailer.campaigns import ledger
from mailer.delivery.message import Outcome, RecipientResult
from mailer.storage import (
    Campaign,
    Database,
    Delivery,
    DeliveryStatus,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    tallies,
)
from mailer.storage.database import create_database_engine
from mailer.subscribers.privacy import forget

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
_numbers = count()


def by_rows(conn: Connection, campaign_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(Delivery.status, func.count())
        .where(Delivery.campaign_id == campaign_id)
        .group_by(Delivery.status)
    )
    return {DeliveryStatus(s).value: n for s, n in rows}


def reader(session: Session, list_id: int) -> None:
    n = next(_numbers)
    person = Subscriber(email=f"t{n}@example.org", email_key=f"t{n}@example.org")
    session.add(person)
    session.flush()
    session.add(
        Subscription(
            subscriber_id=person.id,
            list_id=list_id,
            status=SubscriptionStatus.CONFIRMED,
            status_source="test",
        )
    )
    session.flush()


OPERATIONS = st.sampled_from(
    ["join", "materialize", "claim", "record", "release", "recover", "resend", "skip", "forget"]
)
STEPS = st.lists(st.tuples(OPERATIONS, st.integers(0, 5), st.lists(st.sampled_from(Outcome))))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_the_tallies_follow_any_sequence_of_ledger_operations(
    db: Database, steps: list[tuple[str, int, list[Outcome]]]
) -> None:
    with db.session() as session:
        news = MailingList(name=f"news{next(_numbers)}")
        campaign = Campaign(uid=f"t{next(_numbers)}", subject="Issue", from_address="n@example.org")
        session.add_all([news, campaign])
        session.flush()
        for _ in range(3):
            reader(session, news.id)
        claimed: list[int] = []
        for operation, number, outcomes in steps:
            conn = session.connection()
            if operation == "join":
                reader(session, news.id)
            elif operation == "materialize":
                ledger.materialize(conn, campaign.id, [news.id], NOW)
            elif operation == "claim":
                claimed += ledger.claim(conn, campaign.id, number + 1, NOW + timedelta(days=1))
            elif operation == "record":
                rows, _ = ledger.load(conn, claimed[: len(outcomes)])
                results = [
                    (row, RecipientResult(str(row.delivery_id), outcome, "m", "", True))
                    for row, outcome in zip(rows, outcomes, strict=False)
                ]
                ledger.record(conn, results, NOW)
                claimed = claimed[len(outcomes) :]
            elif operation == "release":
                rows, _ = ledger.load(conn, claimed[:number])
                ledger.release(conn, rows)
                claimed = claimed[number:]
            elif operation == "recover":
                ledger.recover(conn, campaign.id)
            elif operation == "resend":
                ledger.resend_unknown(conn, campaign.id)
            elif operation == "skip":
                ledger.skip_pending(conn, campaign.id, "cancelled")
            else:
                people = session.scalars(
                    select(Subscriber.email)
                    .join(Delivery, Delivery.subscriber_id == Subscriber.id)
                    .where(Delivery.campaign_id == campaign.id)
                    .order_by(Subscriber.id)
                ).all()
                if people:
                    forget(session, people[number % len(people)], now=NOW)
                    session.flush()
        conn = session.connection()
        assert tallies.counts(conn, [campaign.id]).get(campaign.id, {}) == by_rows(
            conn, campaign.id
        )


def test_recount_repairs_a_ledger_written_by_hand(db: Database) -> None:
    with db.session() as session:
        news = MailingList(name="news")
        campaign = Campaign(uid="hand", subject="Issue", from_address="n@example.org")
        session.add_all([news, campaign])
        session.flush()
        for _ in range(4):
            reader(session, news.id)
        conn = session.connection()
        assert ledger.materialize(conn, campaign.id, [news.id], NOW) == 4
        conn.execute(update(Delivery).values(status=DeliveryStatus.SENT))
        assert tallies.counts(conn, [campaign.id]) == {campaign.id: {"pending": 4}}
        ledger.recount(conn, campaign.id)
        assert tallies.counts(conn, [campaign.id]) == {campaign.id: {"sent": 4}}


@pytest.mark.empty_database
def test_migration_0008_tallies_the_rows_already_there(database_url: str) -> None:
    from alembic import command

    from mailer.storage.database import _alembic_config, upgrade

    engine = create_database_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")  # before the tallies
    with Session(engine) as session, session.begin():
        news = MailingList(name="old")
        campaign = Campaign(uid="old", subject="Issue", from_address="n@example.org")
        session.add_all([news, campaign])
        session.flush()
        for n in range(3):
            person = Subscriber(email=f"old{n}@example.org", email_key=f"old{n}@example.org")
            session.add(person)
            session.flush()
            status = DeliveryStatus.PENDING if n else DeliveryStatus.SENT
            session.add(
                Delivery(
                    campaign_id=campaign.id, subscriber_id=person.id, list_id=news.id, status=status
                )
            )
        campaign_id = campaign.id
    assert upgrade(engine)
    with engine.connect() as connection:
        found = tallies.counts(connection, [campaign_id])
    assert found == {campaign_id: {"pending": 2, "sent": 1}}
    engine.dispose()
