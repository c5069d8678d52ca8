"""Finding subscribers for the admin: a search box and filters, a page at a time.

Pages are in subscriber-id order (the order people came in) and continue by keyset
(``id > cursor``), never by OFFSET, so page 20,000 of a million costs what page 1 does
and a subscriber added or forgotten meanwhile neither repeats nor hides another.

No total is counted: counting the matches of a part of a name means reading every
subscriber. ``lists.list_counts`` gives the counts per list and status instead.

Most searches are a range of an index (all subscribers, a list's members by status, an
address prefix). A part of a name, a domain, a tag, a status on any list and
"suppressed" are answered by reading subscribers in id order until the page is full; so
that a rare match in a million rows cannot take seconds, a page reads at most
``SCAN_BUDGET`` ids (``SUPPRESSED_BUDGET`` for "suppressed", which hashes every address
it reads). A page that stops there is ``partial``: it may show fewer rows than asked, and
its ``next_cursor`` continues the search where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, String, any_, bindparam, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from mailer.addresses import address_hash
from mailer.exceptions import InputError
from mailer.storage.bulk import in_values
from mailer.storage.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from mailer.subscribers.cursors import decode_cursor, encode_cursor
from mailer.subscribers.lists import get_list
from mailer.subscribers.search_terms import query_condition, tag_condition

__all__ = [
    "MAX_LIMIT",
    "SCAN_BUDGET",
    "SUPPRESSED",
    "SUPPRESSED_BUDGET",
    "SearchPage",
    "SearchRow",
    "search_subscribers",
]

MAX_LIMIT = 500
#: The status filter for addresses on the suppression list.
SUPPRESSED = "suppressed"
# How many ids one page reads at most when it has to scan, and in what steps (each step
# is one query, stopped by LIMIT as soon as the page is full): on SQLite, for a part of
# a name, 400,000 ids took 250 ms of a page's 200 ms budget (bench/admin.py, a million
# subscribers); half of it leaves room for the rest of the page. "suppressed" reads about
# 100 ms.
SCAN_BUDGET = 200_000
SCAN_STEP = 100_000
SUPPRESSED_BUDGET = 20_000
SUPPRESSED_STEP = 5_000
# PostgreSQL reads a scan about four times as slowly (ILIKE folds every letter, JSONB
# is decoded per row, text compares by collation): 100,000 ids in about 80-110 ms. It
# reads this much less per page.
SLOWER = {"postgresql": 4}


@dataclass(frozen=True)
class SearchRow:
    id: int
    email: str
    name: str
    tags: list[str]
    statuses: dict[str, str]  # list name -> subscription status
    suppressed: bool


@dataclass(frozen=True)
class SearchPage:
    """One page. ``next_cursor`` goes to ``after=`` for the next page, ``prev_cursor`` to
    ``before=`` for the previous one; each is None where there is none (a page reached
    with ``before`` always offers a next one, one reached with ``after`` a previous one).
    ``partial``: the scan stopped at its budget before the page was full."""

    rows: list[SearchRow]
    next_cursor: str | None
    prev_cursor: str | None
    partial: bool = False

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


@dataclass(frozen=True)
class _Plan:
    select: Select[int, str]  # the matching (id, email_key), without order or window
    key: InstrumentedAttribute[int]  # the subscriber id column to order and page by
    scan: bool  # reads subscribers one by one rather than a range of an index
    suppressed: bool  # keep only suppressed addresses (checked in Python, by hash)


def search_subscribers(
    session: Session,
    *,
    query: str = "",
    list_name: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> SearchPage:
    """Subscribers matching every filter given, ``limit`` (1 to MAX_LIMIT) at a time.

    ``query``: ``@domain`` for a domain, text with ``@`` for an address prefix, other
    text for an address prefix or a part of the name (see ``search_terms``). ``list_name``:
    members of that list (NotFound if there is none). ``status``: ``unconfirmed``,
    ``confirmed`` or ``unsubscribed`` (on that list, or on any list without one), or
    ``suppressed``. ``tag``: exactly that tag. An empty one of these is no filter.
    ``after``/``before``: a cursor of an earlier page (one of them at most; BadCursor,
    an InputError, if it is not one).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"a page has 1 to {MAX_LIMIT} rows, not {limit}")
    if after is not None and before is not None:
        raise InputError("a page starts after one cursor or before one, not both")
    # An empty field of the admin's form is no filter.
    tag = tag.strip() if tag else None
    plan = _plan(session, query, list_name or None, status or None, tag or None)
    forward = before is None
    cursor = after if forward else before
    start = decode_cursor(cursor) if cursor is not None else None
    ids, stopped = _walk(session, plan, forward=forward, start=start, wanted=limit + 1)
    more = len(ids) > limit
    ids = ids[:limit] if forward else ids[:limit][::-1]
    ahead = encode_cursor(ids[-1] if forward else ids[0]) if more else _maybe(stopped)
    behind = None if start is None else encode_cursor(_edge(ids, start, forward))
    return SearchPage(
        rows=_rows(session, ids),
        next_cursor=ahead if forward else behind,
        prev_cursor=behind if forward else ahead,
        partial=stopped is not None and len(ids) < limit,
    )


def _maybe(position: int | None) -> str | None:
    return None if position is None else encode_cursor(position)


def _edge(ids: list[int], start: int, forward: bool) -> int:
    """Where the way back begins: the first row shown, else just past the cursor."""
    if forward:
        return ids[0] if ids else start + 1
    return ids[-1] if ids else max(start - 1, 0)


def _status(status: str | None) -> SubscriptionStatus | str | None:
    if status is None or status == SUPPRESSED:
        return status
    try:
        return SubscriptionStatus(status)
    except ValueError:
        known = ", ".join([*(s.value for s in SubscriptionStatus), SUPPRESSED])
        raise InputError(f"status {status!r} is not one of {known}") from None


def _plan(
    session: Session, query: str, list_name: str | None, status: str | None, tag: str | None
) -> _Plan:
    dialect = session.get_bind().dialect.name
    wanted = _status(status)
    condition, scan = query_condition(query, dialect)
    stmt: Select[int, str]
    key: InstrumentedAttribute[int]
    if list_name is not None:
        mailing_list = get_list(session, list_name)
        key = Subscription.subscriber_id
        stmt = (
            select(Subscription.subscriber_id, Subscriber.email_key)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscription.list_id == mailing_list.id)
        )
        if isinstance(wanted, SubscriptionStatus):
            stmt = stmt.where(Subscription.status == wanted)
    else:
        key = Subscriber.id
        stmt = select(Subscriber.id, Subscriber.email_key)
        if isinstance(wanted, SubscriptionStatus):
            stmt = stmt.where(
                exists().where(
                    Subscription.subscriber_id == Subscriber.id, Subscription.status == wanted
                )
            )
            scan = True
    if tag is not None:
        stmt = stmt.where(tag_condition(tag, dialect))
        scan = True
    return _Plan(stmt.where(condition), key, scan, wanted == SUPPRESSED)


def _walk(
    session: Session, plan: _Plan, *, forward: bool, start: int | None, wanted: int
) -> tuple[list[int], int | None]:
    """Up to ``wanted`` matching ids from ``start`` on (exclusive) in the walk's
    direction, and the position reached if the scan budget ran out first."""
    if not plan.scan and not plan.suppressed:
        return _fetch(session, plan, forward, start, None, wanted), None
    step, budget = _budget(session, plan)
    first = session.scalar(select(func.min(Subscriber.id)))
    last = session.scalar(select(func.max(Subscriber.id)))
    if first is None or last is None:
        return [], None
    position = start if start is not None else (first - 1 if forward else last + 1)
    found: list[int] = []
    read = 0
    while len(found) < wanted:
        if (forward and position >= last) or (not forward and position <= first):
            return found, None
        if read >= budget:
            return found, position
        end = position + step if forward else position - step
        found += _fetch(session, plan, forward, position, end, wanted - len(found))
        read += step
        position = end
    return found, None


def _budget(session: Session, plan: _Plan) -> tuple[int, int]:
    """How many ids a step of the scan reads, and a page at most."""
    step, budget = (
        (SUPPRESSED_STEP, SUPPRESSED_BUDGET) if plan.suppressed else (SCAN_STEP, SCAN_BUDGET)
    )
    slower = SLOWER.get(session.get_bind().dialect.name, 1)
    return max(1, step // slower), max(1, budget // slower)


def _fetch(
    session: Session, plan: _Plan, forward: bool, start: int | None, end: int | None, wanted: int
) -> list[int]:
    """The matching ids after ``start`` up to ``end`` (each exclusive and inclusive in
    the walk's direction, None for open), at most ``wanted``."""
    stmt = plan.select.order_by(plan.key if forward else plan.key.desc())
    # A list's walk is by its subscriptions' subscriber ids; the subscribers' own ids get
    # the bounds too, as PostgreSQL carries no range across the join and would otherwise
    # read every subscriber for each step (a million: 630 ms a step).
    bounded = [plan.key] if plan.key is Subscriber.id else [plan.key, Subscriber.id]
    for key in bounded:
        if start is not None:
            stmt = stmt.where(key > start if forward else key < start)
        if end is not None:
            stmt = stmt.where(key <= end if forward else key >= end)
    if not plan.suppressed:
        return list(session.scalars(stmt.limit(wanted)))
    rows = [(row_id, address_hash(key)) for row_id, key in session.execute(stmt)]
    hashes = _suppressed(session, [digest for _, digest in rows])
    return [row_id for row_id, digest in rows if digest in hashes][:wanted]


def _suppressed(session: Session, hashes: list[str]) -> set[str]:
    """Which of these address hashes are suppressed, with one parameter for thousands of
    them: suppression.suppressed_hashes binds one each, which costs more to compile than
    the query costs to run. On PostgreSQL they go as one comma-separated text (hex has
    no commas): psycopg checks every item of a text array for quoting, which for 5,000
    hashes cost more than the query."""
    if not hashes:
        return set()
    column = Suppression.address_hash
    if session.get_bind().dialect.name == "postgresql":
        items = func.string_to_array(bindparam(None, ",".join(hashes), type_=String()), ",")
        return set(session.scalars(select(column).where(column == any_(items))))
    found = select(column).where(in_values(session.connection(), column, hashes))
    return set(session.scalars(found))


def _rows(session: Session, ids: list[int]) -> list[SearchRow]:
    if not ids:
        return []
    connection = session.connection()
    people = session.execute(
        select(
            Subscriber.id, Subscriber.email, Subscriber.email_key, Subscriber.name, Subscriber.tags
        ).where(in_values(connection, Subscriber.id, ids))
    ).all()
    statuses: dict[int, dict[str, str]] = {}
    for subscriber_id, name, state in session.execute(
        select(Subscription.subscriber_id, MailingList.name, Subscription.status)
        .join(MailingList, MailingList.id == Subscription.list_id)
        .where(in_values(connection, Subscription.subscriber_id, ids))
        .order_by(MailingList.name)
    ):
        statuses.setdefault(subscriber_id, {})[name] = SubscriptionStatus(state).value
    hashes = _suppressed(session, [address_hash(p.email_key) for p in people])
    by_id = {
        p.id: SearchRow(
            id=p.id,
            email=p.email,
            name=p.name,
            tags=list(p.tags),
            statuses=statuses.get(p.id, {}),
            suppressed=address_hash(p.email_key) in hashes,
        )
        for p in people
    }
    return [by_id[i] for i in ids if i in by_id]
