"""The send ledger: one row per campaign and subscriber.

A row goes ``pending`` → ``sending`` (claimed, in a committed transaction, before anything
is handed over) → ``sent`` / ``failed`` / back to ``pending`` for a retry. A row still
``sending`` when its sender died may or may not have gone out: it becomes ``unknown``,
as does one whose message went out whole and whose answer was lost (the connection
dropped after the end of the data), and is sent again only when someone says so
(``mailer campaigns resend-unknown``). So a subscriber gets a campaign at most once,
whatever crashes in between.

Every statement here that adds rows or changes their status also writes what it did to
the campaign's tallies (:mod:`mailer.storage.tallies`), in the same transaction: a
change of status goes through :func:`move_ids` (rows by id) or ``_move_rows`` (a
campaign's rows of one status), so that none forgets them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Text,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import aliased

from mailer.addresses import address_hash
from mailer.campaigns.localtime import instant
from mailer.delivery.message import Outcome, RecipientResult
from mailer.storage import tallies
from mailer.storage.bulk import in_values
from mailer.storage.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from mailer.storage.types import UTCDateTime
from mailer.subscribers.segments import Segment

__all__ = [
    "RETRY_DELAYS",
    "Claimed",
    "LocalTime",
    "RecordPlan",
    "claim",
    "load",
    "materialize",
    "move_ids",
    "plan_record",
    "record",
    "recount",
    "recover",
    "release",
    "resend_unknown",
    "skip_pending",
]

D = DeliveryStatus
#: How long a recipient refused for now (4xx, throttled) waits before each retry; after
#: the last one it counts as failed.
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))


class Claimed(NamedTuple):
    """A ledger row claimed for sending, with what its message needs (a tuple: a
    campaign makes one for every recipient)."""

    delivery_id: int
    subscriber_id: int
    list_id: int
    attempts: int
    email: str
    name: str
    attributes: dict[str, Any]
    tags: list[str]
    timezone: str | None


def materialize(
    conn: Connection,
    campaign_id: int,
    list_ids: Sequence[int],
    now: datetime,
    segment: Segment | None = None,
    local_time: LocalTime | None = None,
) -> int:
    """Add a pending row for every confirmed member of the lists not in the ledger yet
    (a subscriber on several of the lists gets one row, through the first list). With
    ``local_time``, each row waits until its subscriber's timezone reaches the time.
    Returns how many rows were added."""
    added = 0
    for list_id in sorted(list_ids):
        members = _new_members(campaign_id, list_id)
        if segment is None and local_time is None:
            added += _insert_members(conn, campaign_id, list_id, members, now)
            continue
        rows = conn.execute(
            select(Subscriber)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(members)
            .execution_options(yield_per=2000)
        )
        chosen = _chosen(rows, list_id, segment, local_time)
        while batch := list(islice(chosen, 2000)):
            added += _insert_pending(conn, campaign_id, list_id, batch, now)
    tallies.add(conn, {(campaign_id, D.PENDING): added})
    return added


def _new_members(campaign_id: int, list_id: int) -> ColumnElement[bool]:
    """The confirmed members of the list who have no row of the campaign yet."""
    already = exists().where(
        Delivery.campaign_id == campaign_id,
        Delivery.subscriber_id == Subscription.subscriber_id,
    )
    return and_(
        Subscription.list_id == list_id,
        Subscription.status == SubscriptionStatus.CONFIRMED,
        ~already,
    )


def _insert_members(
    conn: Connection, campaign_id: int, list_id: int, members: ColumnElement[bool], now: datetime
) -> int:
    """Every one of ``members`` gets a pending row, in one INSERT ... SELECT: nothing of
    theirs comes into Python."""
    result = conn.execute(
        insert(Delivery)
        .from_select(
            [
                "campaign_id",
                "subscriber_id",
                "list_id",
                "status",
                "attempts",
                "provider_message_id",
                "error",
                "bounced",
                "created_at",
            ],
            select(
                literal(campaign_id),
                Subscription.subscriber_id,
                literal(list_id),
                literal(D.PENDING, Delivery.status.type),
                literal(0),
                literal(""),
                literal(""),
                literal(False),
                literal(now, UTCDateTime()),
            ).where(members),
        )
        # SQLAlchemy keeps an INSERT's rowcount only when asked (it is -1 on PostgreSQL).
        .execution_options(preserve_rowcount=True)
    )
    return max(getattr(result, "rowcount", 0), 0)


def _chosen(
    subscribers: Iterable[Row[Any]],
    list_id: int,
    segment: Segment | None,
    local_time: LocalTime | None,
) -> Iterator[dict[str, Any]]:
    """The pending rows to add for ``subscribers``: those in the segment, each due when
    their timezone reaches the local time (or at once)."""
    for row in subscribers:
        if segment is not None and not segment.matches(row):
            continue
        due = local_time.due(row.timezone, list_id) if local_time is not None else None
        yield {"subscriber_id": row.id, "next_attempt_at": due}


@dataclass(frozen=True)
class LocalTime:
    """A wall-clock time and the zones to read it in: the subscriber's, else the
    list's, else the default."""

    wall: datetime
    list_zones: dict[int, str | None]
    default_zone: str

    def zone(self, subscriber_zone: str | None, list_id: int) -> str:
        return subscriber_zone or self.list_zones.get(list_id) or self.default_zone

    def due(self, subscriber_zone: str | None, list_id: int) -> datetime:
        return instant(self.wall, self.zone(subscriber_zone, list_id))


def _insert_pending(
    conn: Connection, campaign_id: int, list_id: int, rows: list[dict[str, Any]], now: datetime
) -> int:
    if not rows:
        return 0
    conn.execute(
        insert(Delivery).values(
            campaign_id=campaign_id,
            list_id=list_id,
            status=D.PENDING,
            attempts=0,
            provider_message_id="",
            error="",
            bounced=False,
            created_at=now,
        ),
        rows,
    )
    return len(rows)


def claim(conn: Connection, campaign_id: int, limit: int, now: datetime) -> list[int]:
    """Claim up to ``limit`` pending rows due now, in ledger order: they become
    ``sending`` in the caller's transaction, which commits before anything of theirs is
    handed over. Returns their ids, in order. One statement: the claiming process does
    no more per row than the database must."""
    due = (
        select(Delivery.id)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status == D.PENDING,
            (Delivery.next_attempt_at.is_(None)) | (Delivery.next_attempt_at <= now),
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Several senders (or machines) may claim from one campaign at once.
        due = due.with_for_update(skip_locked=True)
    claimed = _move(
        conn,
        Delivery.id.in_(due.scalar_subquery()),
        D.PENDING,
        recheck=False,
        status=D.SENDING,
        claimed_at=now,
        attempts=Delivery.attempts + 1,
    )
    # Once a batch: a campaign's tallies stay a few rows however long it sends.
    tallies.fold(conn, campaign_id)
    return sorted(claimed)


def load(conn: Connection, delivery_ids: Sequence[int]) -> tuple[list[Claimed], int]:
    """The claimed rows ``delivery_ids`` with what their messages need, in ledger order.
    A row whose subscriber left the list or was suppressed since the campaign started
    is marked skipped instead: that is checked here, just before its message is built,
    so that an unsubscribe or a bounce during a campaign is honoured for every message
    not yet sent. Returns the rows to send and how many were skipped; the caller
    commits."""
    if not delivery_ids:
        return [], 0
    # all(): fetching the rows at once costs half of iterating over them.
    rows = conn.execute(_loading(conn, delivery_ids)).all()
    hashes = [address_hash(row[5]) for row in rows]
    claimed, skipped = _sort_loaded(rows, hashes, _suppressed(conn, hashes))
    return claimed, _move_each(conn, skipped, {}, from_=(D.SENDING,), status=D.SKIPPED)


def _loading(conn: Connection, delivery_ids: Sequence[int]) -> Select[Any]:
    """The rows :func:`load` reads: the delivery, its subscriber (with the address key
    sixth) and, last, the membership's status."""
    return (
        _with_membership(
            Delivery.id,
            Delivery.subscriber_id,
            Delivery.list_id,
            Delivery.attempts,
            Subscriber.email,
            Subscriber.email_key,
            Subscriber.name,
            # As the driver gives them: decoding them here skips SQLAlchemy's converters,
            # which cost more than the query for a thousand rows.
            type_coerce(Subscriber.attributes, Text),
            type_coerce(Subscriber.tags, Text),
            Subscriber.timezone,
        )
        .where(in_values(conn, Delivery.id, list(delivery_ids)), Delivery.status == D.SENDING)
        .order_by(Delivery.id)
    )


def _sort_loaded(
    rows: Sequence[Any], hashes: Sequence[str], suppressed: set[str]
) -> tuple[list[Claimed], list[dict[str, Any]]]:
    """The loaded rows to send, and the rows to mark skipped with why; pure."""
    claimed: list[Claimed] = []
    skipped: list[dict[str, Any]] = []
    for (
        id_,
        subscriber,
        list_,
        attempts,
        email,
        _,
        name,
        attrs,
        tags,
        zone,
        status,
    ), hashed in zip(rows, hashes, strict=True):
        reason = _gone(hashed in suppressed, status)
        if reason is not None:
            skipped.append({"b_id": id_, "b_error": reason})
        else:
            claimed.append(
                Claimed(
                    id_, subscriber, list_, attempts, email, name, _json(attrs), _json(tags), zone
                )
            )
    return claimed, skipped


def withdrawn(conn: Connection, campaign_id: int, delivery_ids: Sequence[int]) -> dict[int, str]:
    """Which of the campaign's loaded rows ``delivery_ids`` must not be sent any more,
    with why: the campaign was cancelled, or their subscriber left the list or was
    suppressed since :func:`load`. For a batch that takes a while to hand over (a slow
    SMTP server); nothing is written."""
    if not delivery_ids:
        return {}
    status = conn.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
    if status is CampaignStatus.CANCELLED:
        return dict.fromkeys(delivery_ids, "campaign cancelled")
    rows = conn.execute(
        _with_membership(Delivery.id, Subscriber.email_key).where(
            in_values(conn, Delivery.id, list(delivery_ids))
        )
    ).all()
    hashes = [address_hash(key) for _, key, _ in rows]
    suppressed = _suppressed(conn, hashes)
    gone = {}
    for (id_, _, status), hashed in zip(rows, hashes, strict=True):
        reason = _gone(hashed in suppressed, status)
        if reason is not None:
            gone[id_] = reason
    return gone


def _with_membership(*columns: Any) -> Select[Any]:
    """``columns`` of deliveries and their subscribers, and last the status of the
    subscriber's membership of the delivery's list (None if they were removed)."""
    membership = aliased(Subscription)
    return (
        select(*columns, type_coerce(membership.status, Text))
        .select_from(Delivery)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .outerjoin(
            membership,
            and_(
                membership.subscriber_id == Delivery.subscriber_id,
                membership.list_id == Delivery.list_id,
            ),
        )
    )


def _suppressed(conn: Connection, hashes: Sequence[str]) -> set[str]:
    """Which of these address hashes are on the suppression list."""
    wanted = list(set(hashes))
    query = select(Suppression.address_hash).where(
        in_values(conn, Suppression.address_hash, wanted)
    )
    return set(conn.scalars(query))


_CONFIRMED = SubscriptionStatus.CONFIRMED.value


def _gone(suppressed: bool, status: str | None) -> str | None:
    """Why a row's subscriber must not get the campaign now, or None."""
    if suppressed:
        return "suppressed"
    if status != _CONFIRMED:
        return "unsubscribed" if status is not None else "removed from the list"
    return None


def _json(value: Any) -> Any:
    # SQLite gives JSON as text; psycopg decodes it itself.
    return orjson.loads(value) if isinstance(value, str) else value


@dataclass
class RecordPlan:
    """What :func:`record` writes for a batch's results, sorted out before anything is
    written: each row lands in exactly one bucket. The rows are the UPDATEs' bind
    parameters as they go to the database (``b_id`` the delivery id)."""

    #: The rows sent, by provider message id (a provider that takes a batch in one
    #: request gives them all one).
    sent: dict[str, list[int]] = field(default_factory=dict)
    #: Refused for now, with when to try again (``b_next``).
    retried: list[dict[str, Any]] = field(default_factory=list)
    #: Refused for good, or refused for now once too often (``b_bounce``: a bounce).
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: The subscribers whose addresses bounced: they go on the suppression list.
    bounced: list[int] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    unknown: list[dict[str, Any]] = field(default_factory=list)

    def outcomes(self) -> dict[Outcome, int]:
        """How many rows came to each outcome (skipped and unknown only when any did)."""
        count = sum(len(ids) for ids in self.sent.values())
        outcomes = {
            Outcome.SENT: count,
            Outcome.RETRY: len(self.retried),
            Outcome.FAILED: len(self.failed),
        }
        if self.skipped:
            outcomes[Outcome.SKIPPED] = len(self.skipped)
        if self.unknown:
            outcomes[Outcome.UNKNOWN] = len(self.unknown)
        return outcomes


def plan_record(results: Iterable[tuple[Claimed, RecipientResult]], now: datetime) -> RecordPlan:
    """Sort what the backend said of each claimed row into what to write; pure. A row
    refused for now is tried again after ``RETRY_DELAYS[attempts - 1]``, and fails once
    it has had them all; a permanent refusal counted as a bounce suppresses the address."""
    plan = RecordPlan()
    for claimed, result in results:
        outcome = result.outcome
        if outcome is Outcome.SENT:
            plan.sent.setdefault(result.provider_message_id[:200], []).append(claimed.delivery_id)
        elif outcome is Outcome.SKIPPED:
            plan.skipped.append({"b_id": claimed.delivery_id, "b_error": result.error})
        elif outcome is Outcome.UNKNOWN:
            plan.unknown.append({"b_id": claimed.delivery_id, "b_error": result.error})
        elif outcome is Outcome.RETRY and claimed.attempts <= len(RETRY_DELAYS):
            next_at = now + RETRY_DELAYS[claimed.attempts - 1]
            plan.retried.append(
                {"b_id": claimed.delivery_id, "b_error": result.error, "b_next": next_at}
            )
        else:
            error = result.error
            if outcome is Outcome.RETRY:
                error = f"gave up after {claimed.attempts} attempts: {error}"
            plan.failed.append(
                {"b_id": claimed.delivery_id, "b_error": error, "b_bounce": result.bounce}
            )
            if result.bounce:
                plan.bounced.append(claimed.subscriber_id)
    return plan


def record(
    conn: Connection,
    results: Iterable[tuple[Claimed, RecipientResult]],
    now: datetime,
) -> dict[Outcome, int]:
    """Write what the backend said of each claimed row (see :func:`plan_record`) and
    count what was written: only rows still ``sending`` are, or ``unknown`` (their
    sender was taken for dead but was only slow, and its answer is the truth). The
    caller commits."""
    plan = plan_record(results, now)
    sent = _write_sent(conn, plan.sent, now)
    retried = _move_each(conn, plan.retried, {"next_attempt_at": "b_next"}, status=D.PENDING)
    failed = _move_each(conn, plan.failed, {"bounced": "b_bounce"}, status=D.FAILED)
    skipped = _move_each(conn, plan.skipped, {}, status=D.SKIPPED)
    unknown = _move_each(conn, plan.unknown, {}, status=D.UNKNOWN)
    if plan.bounced:
        _suppress_bounces(conn, plan.bounced, now)
    outcomes = {Outcome.SENT: sent, Outcome.RETRY: retried, Outcome.FAILED: failed}
    if plan.skipped:
        outcomes[Outcome.SKIPPED] = skipped
    if plan.unknown:
        outcomes[Outcome.UNKNOWN] = unknown
    return outcomes


#: The statuses a claimed row may be in when its outcome is written.
_OPEN = (D.SENDING, D.UNKNOWN)


def _write_sent(conn: Connection, by_message: dict[str, list[int]], now: datetime) -> int:
    sent: dict[str, Any] = {"status": D.SENT, "sent_at": now, "error": ""}
    if len(by_message) <= 10:
        # A provider that takes a batch in one request gives it one message id: one
        # UPDATE for the batch costs a tenth of an UPDATE per row.
        return sum(
            len(_move_open(conn, ids, provider_message_id=message_id, **sent))
            for message_id, ids in by_message.items()
        )
    rows = [
        {"b_id": delivery_id, "b_pid": message_id}
        for message_id, ids in by_message.items()
        for delivery_id in ids
    ]
    return _move_each(conn, rows, {"provider_message_id": "b_pid"}, **sent)


def _move_open(
    conn: Connection, ids: Sequence[int], from_: Sequence[DeliveryStatus] = _OPEN, **values: Any
) -> list[int]:
    """:func:`move_ids` from the first status of ``from_``, then from the next for the
    rows that were not in it, and so on; the ids of the rows moved."""
    moved: list[int] = []
    left = list(ids)
    for current in from_:
        if not left:
            break
        done = _move(conn, in_values(conn, Delivery.id, left), current, **values)
        moved += done
        gone = set(done)
        left = [i for i in left if i not in gone]
    return moved


def _move_each(
    conn: Connection,
    rows: list[dict[str, Any]],
    own: dict[str, str],
    from_: Sequence[DeliveryStatus] = _OPEN,
    **values: Any,
) -> int:
    """Move ``rows`` (bind parameters by ``b_id``, with their ``b_error`` if any) with
    ``values`` (:func:`_move_open`), then give those that moved their own values: the
    columns of ``own`` from the rows' parameters it names, in one executemany UPDATE.
    Returns how many moved."""
    if not rows:
        return 0
    moved = set(_move_open(conn, [r["b_id"] for r in rows], from_, **values))
    details: dict[str, Any] = {column: bindparam(name) for column, name in own.items()}
    if "b_error" in rows[0]:
        details["error"] = bindparam("b_error")
    written = [r for r in rows if r["b_id"] in moved]
    if written and details:
        conn.execute(
            update(Delivery)
            .where(Delivery.id == bindparam("b_id"))
            .values(**details)
            .execution_options(synchronize_session=False),
            written,
        )
    return len(moved)


def _suppress_bounces(conn: Connection, subscriber_ids: list[int], now: datetime) -> None:
    keys = conn.scalars(select(Subscriber.email_key).where(Subscriber.id.in_(subscriber_ids)))
    hashes = {address_hash(key) for key in keys}
    known = set(
        conn.scalars(select(Suppression.address_hash).where(Suppression.address_hash.in_(hashes)))
    )
    fresh = [
        {
            "address_hash": h,
            "reason": SuppressionReason.HARD_BOUNCE,
            "source": "bounce",
            "created_at": now,
        }
        for h in sorted(hashes - known)
    ]
    if fresh:
        conn.execute(insert(Suppression), fresh)


def release(conn: Connection, claimed: Sequence[Claimed]) -> None:
    """Put claimed rows back as pending: nothing of theirs was handed over (the whole
    batch failed before the backend took any). Only rows still ``sending``: written
    again after a commit whose answer a lost connection swallowed, it changes nothing."""
    move_ids(
        conn,
        [c.delivery_id for c in claimed],
        D.SENDING,
        status=D.PENDING,
        attempts=Delivery.attempts - 1,
    )


def recover(conn: Connection, campaign_id: int) -> int:
    """Rows a dead sender left ``sending`` become ``unknown``; returns how many."""
    return _move_rows(
        conn, campaign_id, D.SENDING, status=D.UNKNOWN, error="in flight when the sender stopped"
    )


def resend_unknown(conn: Connection, campaign_id: int) -> int:
    """Queue the ``unknown`` rows again (some of them may then arrive twice)."""
    return _move_rows(conn, campaign_id, D.UNKNOWN, status=D.PENDING, next_attempt_at=None)


def skip_pending(conn: Connection, campaign_id: int, reason: str) -> int:
    """Mark every pending row skipped (the campaign was cancelled)."""
    return _move_rows(conn, campaign_id, D.PENDING, status=D.SKIPPED, error=reason)


def move_ids(conn: Connection, ids: Sequence[int], current: DeliveryStatus, **values: Any) -> int:
    """Give the rows ``ids`` that are still ``current`` the ``values`` (a ``status``
    among them), and the tallies what moved; returns how many rows did. Every change of
    a ledger row's status goes through here or :func:`_move_rows`, so that none
    forgets the tallies."""
    if not ids:
        return 0
    return len(_move(conn, in_values(conn, Delivery.id, list(ids)), current, **values))


def _move(
    conn: Connection,
    rows: ColumnElement[bool],
    current: DeliveryStatus,
    *,
    recheck: bool = True,
    **values: Any,
) -> list[int]:
    """Move the rows ``rows`` selects that are ``current``; their ids. ``recheck=False``
    when ``rows`` selects only ``current`` rows itself: :func:`claim`'s, because with a
    second test of the status PostgreSQL plans its ``LIMIT ... SKIP LOCKED`` subquery
    into a join that it runs again for every row, and claims more than the limit."""
    where = [rows, Delivery.status == current] if recheck else [rows]
    moved = conn.execute(
        update(Delivery)
        .where(*where)
        .values(**values)
        .returning(Delivery.id, Delivery.campaign_id)
        .execution_options(synchronize_session=False)
    ).all()
    tallies.moved(conn, Counter(c for _, c in moved), current, values.get("status", current))
    return [i for i, _ in moved]


def _move_rows(conn: Connection, campaign_id: int, current: DeliveryStatus, **values: Any) -> int:
    """Move all the campaign's ``current`` rows: by rowcount, not RETURNING, as they
    may be a million."""
    result = conn.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    count = max(getattr(result, "rowcount", 0), 0)
    tallies.moved(conn, {campaign_id: count}, current, values.get("status", current))
    return count


def recount(conn: Connection, campaign_id: int) -> None:
    """Tally the campaign's ledger rows afresh: for a ledger changed behind this
    module's back (a test, a repair by hand)."""
    tallies.recount(conn, [campaign_id])


def outstanding(conn: Connection, campaign_id: int) -> tuple[int, int, datetime | None]:
    """Rows still pending, rows being sent, and when the next retry is due."""
    pending, sending, due = conn.execute(
        select(
            func.count().filter(Delivery.status == D.PENDING),
            func.count().filter(Delivery.status == D.SENDING),
            func.min(Delivery.next_attempt_at).filter(Delivery.status == D.PENDING),
        ).where(Delivery.campaign_id == campaign_id)
    ).one()
    if isinstance(due, datetime) and due.tzinfo is None:
        from datetime import UTC

        due = due.replace(tzinfo=UTC)
    return int(pending), int(sending), due
