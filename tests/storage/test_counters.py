"""The event counters: after any mix of events they equal a recount from the events;
the first of a kind for a message counts once; an event tied to no message counts on
its own; deleting a campaign deletes its counters; migration 0007 fills them from the
events of a database made before it."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailer.storage import Campaign, Database, Event, EventKind, record_events
from mailer.storage import counters as counters_module
from mailer.storage.counters import EventCount, slot_of
from mailer.storage.database import create_database_engine
from mailer.storage.event_rows import EventFirst

# Migrations run here from an empty schema.
pytestmark = pytest.mark.empty_database

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
_numbers = count()

Key = tuple[int, str, bool, datetime]


def campaign(session: Session) -> int:
    number = next(_numbers)
    row = Campaign(uid=f"k{number}", subject=f"Issue {number}", from_address="n@example.org")
    session.add(row)
    session.flush()
    return row.id


def counters(session: Session, campaign_ids: list[int]) -> dict[Key, tuple[int, int]]:
    """The counters, a slot's shards summed."""
    rows = session.execute(
        select(EventCount).where(EventCount.campaign_id.in_(campaign_ids))
    ).scalars()
    summed: dict[Key, tuple[int, int]] = {}
    for r in rows:
        key = (r.campaign_id, EventKind(r.kind).value, r.hard, r.slot)
        total, first = summed.get(key, (0, 0))
        summed[key] = (total + r.total, first + r.first)
    return {key: counts for key, counts in summed.items() if counts[0]}


def recount(session: Session, campaign_ids: list[int]) -> dict[Key, tuple[int, int]]:
    """The counters as the events say them: the first of a kind for a message is its
    earliest recorded event; one tied to no message is first on its own."""
    events = session.scalars(
        select(Event).where(Event.campaign_id.in_(campaign_ids)).order_by(Event.id)
    ).all()
    seen: set[tuple[int | None, int, str, bool]] = set()
    totals: Counter[Key] = Counter()
    firsts: Counter[Key] = Counter()
    for e in events:
        assert e.campaign_id is not None
        key = (e.campaign_id, EventKind(e.kind).value, e.hard, slot_of(e.occurred_at))
        totals[key] += 1
        mark = (e.campaign_id, e.delivery_id or -e.id, EventKind(e.kind).value, e.hard)
        if mark not in seen:
            seen.add(mark)
            firsts[key] += 1
    return {key: (totals[key], firsts[key]) for key in totals}


_KINDS = st.sampled_from(
    [EventKind.DELIVERED, EventKind.OPENED, EventKind.CLICKED, EventKind.BOUNCED]
)
_EVENT = st.tuples(
    st.integers(0, 1),  # which of two campaigns
    _KINDS,
    st.booleans(),  # hard (bounces only)
    st.one_of(st.none(), st.integers(1, 6)),  # the ledger row, or none
    st.integers(0, 3 * 24 * 60),  # minutes after the start
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(_EVENT, max_size=8), max_size=6))
def test_the_counters_equal_a_recount_of_the_events(
    db: Database, batches: list[list[tuple[int, EventKind, bool, int | None, int]]]
) -> None:
    with db.session() as session:
        ids = [campaign(session), campaign(session)]
        for batch in batches:
            events = [
                Event(
                    kind=kind,
                    hard=hard and kind is EventKind.BOUNCED,
                    campaign_id=ids[which],
                    # A ledger row belongs to one campaign.
                    delivery_id=None if row is None else row * 2 + which,
                    occurred_at=START + timedelta(minutes=minutes),
                )
                for which, kind, hard, row, minutes in batch
            ]
            record_events(session, events)
    with db.session() as session:
        assert counters(session, ids) == recount(session, ids)


def test_repeated_opens_count_once_as_first_and_untied_events_each(db: Database) -> None:
    with db.session() as session:
        cid = campaign(session)
        opens = [(7, 1), (7, 2), (8, 3), (None, 4), (None, 4), (7, 65)]
        for delivery_id, minute in opens:
            at = START + timedelta(minutes=minute)
            event = Event(
                kind=EventKind.OPENED, campaign_id=cid, delivery_id=delivery_id, occurred_at=at
            )
            record_events(session, [event])
        # Events of mail outside campaigns are stored and counted nowhere.
        record_events(session, [Event(kind=EventKind.DELIVERED, occurred_at=START)])
    with db.session() as session:
        found = counters(session, [cid])
        stored = session.scalar(select(Event).where(Event.campaign_id.is_(None)))
        assert stored is not None
    opened = EventKind.OPENED.value
    assert found == {
        (cid, opened, False, START): (5, 4),  # 7 first, 7 again, 8, and two untied
        (cid, opened, False, START + timedelta(hours=1, minutes=5)): (1, 0),
    }


def test_two_writers_opening_one_message_at_once_count_one_first(db: Database) -> None:
    """The second writer's first row waits for the first writer's commit, then finds
    the row: two opens, one first, whichever order the two take."""
    with db.session() as session:
        cid = campaign(session)
    opened = [Event(kind=EventKind.OPENED, campaign_id=cid, delivery_id=9, occurred_at=START)]
    again = [Event(kind=EventKind.OPENED, campaign_id=cid, delivery_id=9, occurred_at=START)]
    failed: list[BaseException] = []

    def second_writer() -> None:
        try:
            with db.session() as session:
                record_events(session, again)
        except BaseException as err:  # the assertion below says it
            failed.append(err)

    with db.session() as session:
        record_events(session, opened)
        # Its rows are written and not yet committed while the other writer begins.
        writer = threading.Thread(target=second_writer)
        writer.start()
    writer.join(60)
    assert not writer.is_alive() and not failed
    with db.session() as session:
        assert counters(session, [cid]) == {(cid, EventKind.OPENED.value, False, START): (2, 1)}
        firsts = session.scalars(select(EventFirst.event_id).where(EventFirst.campaign_id == cid))
        assert list(firsts) == [opened[0].id]


def test_two_writers_of_one_slot_on_postgresql_do_not_wait_for_each_others_commit(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each takes a shard of its own (here told which): the second commits while the
    first still holds its counter row; without shards it would wait for that commit."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the other transaction is done first")
    shards = iter([3, 5])
    monkeypatch.setattr(counters_module, "pg_shard", lambda: next(shards))
    with db.session() as session:
        cid = campaign(session)

    def opened(delivery_id: int) -> list[Event]:
        return [
            Event(
                kind=EventKind.OPENED, campaign_id=cid, delivery_id=delivery_id, occurred_at=START
            )
        ]

    with db.session() as first:
        record_events(first, opened(1))
        # Its counter row is locked until this block commits; a wait would end in the
        # lock timeout's error rather than hang the test.
        with db.session() as second:
            second.execute(text("SET LOCAL lock_timeout = '10s'"))
            record_events(second, opened(2))
    with db.session() as session:
        assert counters(session, [cid]) == {(cid, EventKind.OPENED.value, False, START): (2, 2)}
        assert sorted(session.scalars(select(EventCount.shard))) == [3, 5]


def test_downgrading_0011_sums_a_slots_shards_into_one_row(database_url: str) -> None:
    from alembic import command

    from mailer.storage.database import _alembic_config

    engine = create_database_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with Session(engine) as session, session.begin():
        cid = campaign(session)
        for shard, total, first in [(0, 2, 1), (7, 3, 3)]:
            session.add(
                EventCount(
                    campaign_id=cid,
                    kind=EventKind.OPENED,
                    hard=False,
                    slot=START,
                    shard=shard,
                    total=total,
                    first=first,
                )
            )
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT total, first FROM event_counts")).all()
    assert [tuple(row) for row in rows] == [(5, 4)]
    engine.dispose()


def test_deleting_a_campaign_deletes_its_counters(db: Database) -> None:
    with db.session() as session:
        cid = campaign(session)
        kept = campaign(session)
        for which in (cid, kept):
            event = Event(
                kind=EventKind.OPENED, campaign_id=which, delivery_id=which, occurred_at=START
            )
            record_events(session, [event])
    with db.session() as session:
        session.execute(delete(Campaign).where(Campaign.id == cid))
    with db.session() as session:
        assert session.scalars(select(EventCount.campaign_id)).all() == [kept]
        assert session.scalars(select(EventFirst.campaign_id)).all() == [kept]


def test_migration_0007_counts_the_events_already_recorded(database_url: str) -> None:
    from alembic import command

    from mailer.storage.database import _alembic_config, upgrade

    engine = create_database_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")  # before the counters
    with Session(engine) as session, session.begin():
        ids = [campaign(session), campaign(session)]
        # Recorded as before 0007: straight into the table, in several slots.
        for n, (which, delivery_id, kind, minutes) in enumerate(
            [
                (0, 1, EventKind.OPENED, 3),
                (0, 1, EventKind.OPENED, 4),
                (0, 2, EventKind.OPENED, 7),
                (0, None, EventKind.CLICKED, 7),
                (1, 3, EventKind.BOUNCED, 61),
                (1, 3, EventKind.OPENED, 60 * 30 + 59),
                (0, 1, EventKind.OPENED, 60 * 24 * 3),
            ]
        ):
            session.add(
                Event(
                    kind=kind,
                    hard=kind is EventKind.BOUNCED,
                    campaign_id=ids[which],
                    delivery_id=delivery_id,
                    occurred_at=START + timedelta(minutes=minutes, seconds=n, microseconds=n),
                )
            )
    assert upgrade(engine)
    with Session(engine) as session:
        assert counters(session, ids) == recount(session, ids)
        assert len(counters(session, ids)) == 6
    engine.dispose()


def test_a_batch_refused_in_its_savepoint_leaves_no_count(db: Database) -> None:
    with db.session() as session:
        cid = campaign(session)

        def opened(delivery_id: int, event_id: str) -> Event:
            return Event(
                kind=EventKind.OPENED,
                campaign_id=cid,
                delivery_id=delivery_id,
                provider_event_id=event_id,
                occurred_at=START,
            )

        record_events(session, [opened(1, "a")])
        # The webhook's way: a batch with an event recorded before fails as a whole.
        with pytest.raises(IntegrityError), session.begin_nested():
            record_events(session, [opened(2, "b"), opened(1, "a")])
        record_events(session, [opened(2, "c")])
    with db.session() as session:
        assert counters(session, [cid]) == {(cid, EventKind.OPENED.value, False, START): (2, 2)}
        assert counters(session, [cid]) == recount(session, [cid])
