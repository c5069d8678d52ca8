"""The ledger's tallies per campaign and status, kept by triggers: they follow new rows,
every change of status and rows deleted by cascade (a forgotten subscriber), and
migration 0007 counts the rows already there."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from mailer.storage import (
    Campaign,
    Database,
    Delivery,
    DeliveryStatus,
    DeliveryTally,
    MailingList,
    Subscriber,
)
from mailer.storage.database import create_database_engine

D = DeliveryStatus


def tallies(session: Session) -> dict[tuple[int, str], int]:
    rows = session.scalars(select(DeliveryTally)).all()
    return {(r.campaign_id, D(r.status).value): r.count for r in rows if r.count}


def recount(session: Session) -> dict[tuple[int, str], int]:
    rows = session.execute(
        select(Delivery.campaign_id, Delivery.status, func.count()).group_by(
            Delivery.campaign_id, Delivery.status
        )
    )
    return {(c, D(s).value): n for c, s, n in rows}


def fill(session: Session, campaigns: int, readers: int) -> tuple[list[int], list[int]]:
    news = MailingList(name="news")
    people = [
        Subscriber(email=f"r{n}@example.org", email_key=f"r{n}@example.org") for n in range(readers)
    ]
    sent = [
        Campaign(uid=f"c{n}", subject="Issue", from_address="n@example.org")
        for n in range(campaigns)
    ]
    session.add_all([news, *people, *sent])
    session.flush()
    session.add_all(
        [
            Delivery(campaign_id=c.id, subscriber_id=p.id, list_id=news.id)
            for c in sent
            for p in people
        ]
    )
    session.flush()
    return [c.id for c in sent], [p.id for p in people]


def test_the_tallies_follow_every_change_of_the_ledger(db: Database) -> None:
    with db.session() as session:
        (first, second), people = fill(session, 2, 5)
        assert tallies(session) == {(first, "pending"): 5, (second, "pending"): 5}
        session.execute(
            update(Delivery).where(Delivery.campaign_id == first).values(status=D.SENDING)
        )
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == first, Delivery.subscriber_id.in_(people[:3]))
            .values(status=D.SENT)
        )
        # A change of something else than the status changes no tally.
        session.execute(update(Delivery).values(attempts=Delivery.attempts + 1))
        assert tallies(session) == recount(session)
        assert tallies(session)[(first, "sent")] == 3
    with db.session() as session:
        # Forgetting a subscriber deletes their rows by cascade.
        session.execute(delete(Subscriber).where(Subscriber.id == people[0]))
    with db.session() as session:
        assert tallies(session) == recount(session)
        assert tallies(session)[(first, "sent")] == 2
        session.execute(delete(Campaign).where(Campaign.id == second))
    with db.session() as session:
        assert session.scalars(select(DeliveryTally.campaign_id).distinct()).all() == [first]
        assert tallies(session) == recount(session)


def test_migration_0007_tallies_the_rows_already_there(database_url: str) -> None:
    from alembic import command

    from mailer.storage.database import _alembic_config, upgrade

    engine = create_database_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")  # before the tallies and their triggers
    with Session(engine) as session, session.begin():
        (cid,), _ = fill(session, 1, 3)
        one = select(func.min(Delivery.id)).scalar_subquery()
        session.execute(update(Delivery).where(Delivery.id == one).values(status=D.SENT))
    assert upgrade(engine)
    with Session(engine) as session:
        assert tallies(session) == recount(session) == {(cid, "pending"): 2, (cid, "sent"): 1}
    engine.dispose()
