"""One-click unsubscribes stored in groups: :func:`leave_all` is the work that
:class:`~mailer.web.group_commit.GroupCommit` runs for the requests that came together,
in a few statements whatever their number (on PostgreSQL one), since a wave of them
after a big send is bounded by those statements.

The statements are made once, their lists of ids bound as expanding parameters: making
a statement with a few dozen ids in it cost more than running it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from mailer.storage.counters import pg_count, pg_shard, record_events
from mailer.storage.event_rows import PG_NEXT_ID, PG_TYPES, pg_values
from mailer.storage.events import Event, EventKind
from mailer.storage.models import Campaign, Delivery, MailingList, Subscription, SubscriptionStatus
from mailer.storage.types import UTCDateTime
from mailer.web.recording import own_event

__all__ = ["Leaving", "leave_all"]


@dataclass(frozen=True, slots=True)
class Leaving:
    """One unsubscribe request: who leaves which list, from which campaign's email
    (None: a link without one), and when."""

    subscriber_id: int
    list_id: int
    campaign_id: int | None
    at: datetime


def leave_all(session: Session, leavings: Sequence[Leaving]) -> list[str | None]:
    """Unsubscribe each of ``leavings``; for each, its list's title, or None if there is
    no such subscription any more (the subscriber forgotten, the list deleted).

    They are stamped with the time of the last of them: they are committed together,
    within milliseconds. A subscription already left is not changed again, and one left
    twice in a group counts once: the UPDATE takes only those not yet unsubscribed,
    and on PostgreSQL a concurrent one waits for this one's rows, then finds them left.

    On PostgreSQL it is one statement, and commits itself (it must be the session's
    first): no BEGIN and COMMIT of their own, two round trips fewer, and the counters'
    row, which every group of a campaign updates, is locked only while the server runs
    it, not until the client's COMMIT comes. On SQLite it is the session's transaction.
    """
    at = max(leaving.at for leaving in leavings)
    if session.get_bind().dialect.name == "postgresql":
        return _leave_all_postgres(session, leavings, at)
    # The statements are the Core's, run on the session's connection: the ORM's way
    # round them was a third of a group's time.
    connection = session.connection()
    pairs = {(leaving.subscriber_id, leaving.list_id) for leaving in leavings}
    campaigns = sorted({one.campaign_id for one in leavings if one.campaign_id is not None})
    found = connection.execute(
        _subscriptions(),
        {
            "subscribers": sorted({subscriber for subscriber, _ in pairs}),
            "lists": sorted({list_id for _, list_id in pairs}),
            "campaigns": campaigns,
        },
    )
    titles: dict[tuple[int, int], str] = {}
    ids: dict[int, tuple[int, int]] = {}
    # The ledger rows of the campaigns the links came from, by (campaign, subscriber).
    rows: dict[tuple[int, int], int] = {}
    for subscription_id, subscriber_id, list_id, title, campaign_id, row in found:
        if (subscriber_id, list_id) in pairs:
            titles[subscriber_id, list_id] = title
            ids[subscription_id] = (subscriber_id, list_id)
            if row is not None:
                rows[campaign_id, subscriber_id] = row
    changed: set[tuple[int, int]] = set()
    if ids:
        left = connection.scalars(_leave(), {"ids": sorted(ids), "at": at})
        changed = {ids[subscription_id] for subscription_id in left}
    # The first request of each subscription that changed records its event.
    counted: dict[tuple[int, int], Leaving] = {}
    for leaving in leavings:
        pair = (leaving.subscriber_id, leaving.list_id)
        if pair in changed:
            counted.setdefault(pair, leaving)
    record_events(session, _events(connection, list(counted.values()), at, rows))
    return [titles.get((leaving.subscriber_id, leaving.list_id)) for leaving in leavings]


def _leave_all_postgres(
    session: Session, leavings: Sequence[Leaving], at: datetime
) -> list[str | None]:
    """:func:`leave_all` on PostgreSQL: one statement, its own transaction."""
    connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    # What our own unsubscribe events have that the statement does not choose.
    template = pg_values(connection, own_event(EventKind.UNSUBSCRIBED, occurred_at=at))
    chosen = {"campaign_id", "delivery_id", "subscriber_id", "list_id"}
    constants = tuple(sorted(template.keys() - chosen))
    return list(
        connection.scalars(
            _pg_leave(constants),
            {
                "subscribers": [leaving.subscriber_id for leaving in leavings],
                "lists": [leaving.list_id for leaving in leavings],
                "campaigns": [leaving.campaign_id for leaving in leavings],
                "at": at,
                "shard": pg_shard(),
                **{name: template[name] for name in constants},
            },
        )
    )


@functools.cache
def _pg_leave(constants: tuple[str, ...]) -> Any:
    """The statement of :func:`_leave_all_postgres`: ``asked``, the requests in order;
    ``found``, their subscriptions; ``gone``, those it unsubscribes (not those left
    already: a concurrent one waits for this one's rows, then finds them left); ``new``,
    the event of the first request of each, tied to its campaign's ledger row where
    there is one (and to no campaign if it was deleted meanwhile); then the events
    stored and counted; and each request's list title, or NULL."""
    values = ", ".join(f"CAST(:{name} AS {PG_TYPES[name]}) AS {name}" for name in constants)
    left = SubscriptionStatus.UNSUBSCRIBED.value
    # Each array a subquery: PostgreSQL then cannot see how long it is when it plans,
    # and plans it once (psycopg prepares a statement run often, and the server keeps
    # the generic plan when it costs no more than the custom plans have). Seen as a
    # value, the array's length made each run's plan cheaper than the generic one,
    # and the statement was planned every time: two fifths of its time on the server.
    return text(
        "WITH asked AS (SELECT * FROM unnest((SELECT CAST(:subscribers AS integer[])), "
        "(SELECT CAST(:lists AS integer[])), (SELECT CAST(:campaigns AS integer[]))) "
        "WITH ORDINALITY AS a(subscriber_id, list_id, campaign_id, n)), "
        "found AS (SELECT s.id, s.subscriber_id, s.list_id, l.title "
        "FROM subscriptions s JOIN lists l ON l.id = s.list_id "
        "JOIN (SELECT DISTINCT subscriber_id, list_id FROM asked) a "
        "ON a.subscriber_id = s.subscriber_id AND a.list_id = s.list_id), "
        f"gone AS (UPDATE subscriptions SET status = '{left}', "
        "status_changed_at = CAST(:at AS timestamp), status_source = 'web' FROM found "
        f"WHERE subscriptions.id = found.id AND subscriptions.status <> '{left}' "
        "RETURNING subscriptions.subscriber_id, subscriptions.list_id), "
        f"new AS MATERIALIZED (SELECT {PG_NEXT_ID} AS id, f.n, c.id AS campaign_id, "
        f"d.id AS delivery_id, f.subscriber_id, f.list_id, {values} "
        "FROM (SELECT DISTINCT ON (a.subscriber_id, a.list_id) a.* FROM asked a "
        "JOIN gone g ON g.subscriber_id = a.subscriber_id AND g.list_id = a.list_id "
        "ORDER BY a.subscriber_id, a.list_id, a.n) f "
        "LEFT JOIN campaigns c ON c.id = f.campaign_id "
        "LEFT JOIN deliveries d ON d.campaign_id = c.id AND d.subscriber_id = f.subscriber_id), "
        f"{pg_count('new')} "
        "SELECT found.title FROM asked LEFT JOIN found "
        "ON found.subscriber_id = asked.subscriber_id AND found.list_id = asked.list_id "
        "ORDER BY asked.n"
    ).bindparams(bindparam("at", type_=UTCDateTime()))


def _events(
    connection: Connection,
    leavings: list[Leaving],
    at: datetime,
    rows: dict[tuple[int, int], int],
) -> list[Event]:
    """The unsubscribe events of ``leavings``, each tied to its campaign's ledger row
    (``rows``, by campaign and subscriber) where there is one, and to no campaign if it
    was deleted meanwhile."""
    sent = {(one.campaign_id, one.subscriber_id) for one in leavings if one.campaign_id is not None}
    # A campaign is known by its ledger rows, and otherwise asked for.
    campaigns = {campaign for campaign, _ in rows}
    unmatched = sorted({campaign for campaign, _ in sent} - campaigns)
    if unmatched:
        campaigns.update(connection.scalars(_campaigns(), {"ids": unmatched}))
    events = []
    for one in leavings:
        campaign_id = one.campaign_id if one.campaign_id in campaigns else None
        events.append(
            own_event(
                EventKind.UNSUBSCRIBED,
                occurred_at=at,
                campaign_id=campaign_id,
                delivery_id=rows.get((campaign_id, one.subscriber_id)) if campaign_id else None,
                subscriber_id=one.subscriber_id,
                list_id=one.list_id,
            )
        )
    return events


@functools.cache
def _subscriptions() -> Any:
    # Each id among the others, not a row-value IN (SQLite scans the table for that):
    # mostly one list, so what comes back beyond the pairs asked for is little. The
    # ledger rows of the links' campaigns come with them, in the same round trip.
    return (
        select(
            Subscription.id,
            Subscription.subscriber_id,
            Subscription.list_id,
            MailingList.title,
            Delivery.campaign_id,
            Delivery.id,
        )
        .join(MailingList, MailingList.id == Subscription.list_id)
        .outerjoin(
            Delivery,
            and_(
                Delivery.subscriber_id == Subscription.subscriber_id,
                Delivery.campaign_id.in_(bindparam("campaigns", expanding=True)),
            ),
        )
        .where(
            Subscription.subscriber_id.in_(bindparam("subscribers", expanding=True)),
            Subscription.list_id.in_(bindparam("lists", expanding=True)),
        )
    )


@functools.cache
def _leave() -> Any:
    table = Subscription.__table__
    assert isinstance(table, Table)
    return (
        update(table)
        .where(
            Subscription.id.in_(bindparam("ids", expanding=True)),
            Subscription.status != SubscriptionStatus.UNSUBSCRIBED,
        )
        .values(
            status=SubscriptionStatus.UNSUBSCRIBED,
            status_changed_at=bindparam("at"),
            status_source="web",
        )
        .returning(Subscription.id)
    )


@functools.cache
def _campaigns() -> Any:
    return select(Campaign.id).where(Campaign.id.in_(bindparam("ids", expanding=True)))
