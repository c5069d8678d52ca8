"""Searching subscribers for the admin: each filter, keyset pages both ways, cursors."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.exceptions import InputError, NotFound
from mailer.storage import Database
from mailer.subscribers import search
from mailer.subscribers.cursors import BadCursor, decode_cursor, encode_cursor
from mailer.subscribers.lists import create_list, list_counts
from mailer.subscribers.privacy import forget
from mailer.subscribers.search import SearchPage, search_subscribers
from mailer.subscribers.subscriptions import add_subscriber, unsubscribe
from mailer.subscribers.suppression import suppression_counts

PEOPLE = [
    # email, name, tags, lists
    ("ann@example.org", "Ann Lee", ["donor"], ["news"]),
    ("annika@web.de", "Annika Schmidt", ["press"], ["news", "alerts"]),
    ("bob@example.org", "Bob Müller", ["donors"], ["alerts"]),
    ("zoe@mail.example.com", "Zoë Quixote", ["Donor"], ["news"]),
    ("emile@example.net", "ÉMILE Zola", [], ["news"]),
    ("carl_100%@example.org", "Carl Percent", ["dönör"], ["news"]),
    ("dora@example.org", "Dora Lee", ["donor", "press"], ["alerts"]),
]


@pytest.fixture
def people(db: Database) -> Database:
    with db.session() as session:
        create_list(session, "news")
        create_list(session, "alerts", double_opt_in=True)
        for email, name, tags, lists in PEOPLE:
            for list_name in lists:
                add_subscriber(session, email, list_name, name=name, tags=tags)
        unsubscribe(session, "ann@example.org", "news")
        unsubscribe(session, "dora@example.org")  # every list: suppressed too
    return db


def emails(db: Database, **filters: object) -> list[str]:
    with db.session() as session:
        page = search_subscribers(session, limit=500, **filters)  # type: ignore[arg-type]
    assert not page.has_more
    return [row.email for row in page.rows]


FILTERS: list[tuple[dict[str, object], list[str]]] = [
    ({}, [p[0] for p in PEOPLE]),
    ({"query": " ", "list_name": "", "status": "", "tag": " "}, [p[0] for p in PEOPLE]),
    ({"query": "ann"}, ["ann@example.org", "annika@web.de"]),  # prefix
    ({"query": "ANN@"}, ["ann@example.org"]),  # a prefix with @ is the address only
    ({"query": "annika@web.de"}, ["annika@web.de"]),
    (
        {"query": "@example.org"},
        ["ann@example.org", "bob@example.org", "carl_100%@example.org", "dora@example.org"],
    ),
    ({"query": "@example"}, []),  # the whole domain, not a part of it
    ({"query": "lee"}, ["ann@example.org", "dora@example.org"]),  # part of the name
    ({"query": "  SCHMIDT "}, ["annika@web.de"]),
    ({"query": "müller"}, ["bob@example.org"]),
    ({"query": "MÜLLER"}, ["bob@example.org"]),
    ({"query": "zoë"}, ["zoe@mail.example.com"]),
    ({"query": "ZOË QUIXOTE"}, ["zoe@mail.example.com"]),
    ({"query": "émile"}, ["emile@example.net"]),
    ({"query": "Émile"}, ["emile@example.net"]),
    ({"query": "carl_100%"}, ["carl_100%@example.org"]),  # LIKE's own characters
    ({"query": "%"}, []),
    ({"query": "_"}, []),
    ({"tag": "donor"}, ["ann@example.org", "dora@example.org"]),  # exact
    ({"tag": "Donor"}, ["zoe@mail.example.com"]),
    ({"tag": "dönör"}, ["carl_100%@example.org"]),
    ({"tag": "don"}, []),
    ({"list_name": "alerts"}, ["annika@web.de", "bob@example.org", "dora@example.org"]),
    ({"list_name": "alerts", "status": "unconfirmed"}, ["annika@web.de", "bob@example.org"]),
    ({"list_name": "news", "status": "unsubscribed"}, ["ann@example.org"]),
    ({"status": "unsubscribed"}, ["ann@example.org", "dora@example.org"]),
    ({"status": "suppressed"}, ["dora@example.org"]),
    ({"list_name": "alerts", "status": "suppressed"}, ["dora@example.org"]),
    ({"list_name": "news", "status": "suppressed"}, []),
    ({"list_name": "news", "query": "ann", "status": "confirmed"}, ["annika@web.de"]),
    ({"tag": "press", "query": "@example.org"}, ["dora@example.org"]),
]


def test_filters(people: Database) -> None:
    # One test for every filter: the people are most of a test's time.
    wrong = {
        str(f): (found, expected)
        for f, expected in FILTERS
        if (found := emails(people, **f)) != expected
    }
    assert not wrong, wrong


def test_rows_carry_their_statuses_tags_and_suppression(people: Database) -> None:
    with people.session() as session:
        (annika,) = search_subscribers(session, query="annika").rows
        (dora,) = search_subscribers(session, query="dora@").rows
    assert annika.name == "Annika Schmidt" and annika.tags == ["press"]
    assert annika.statuses == {"alerts": "unconfirmed", "news": "confirmed"}
    assert not annika.suppressed
    assert dora.statuses == {"alerts": "unsubscribed"} and dora.suppressed


def test_a_forgotten_subscriber_is_gone(people: Database) -> None:
    with people.session() as session:
        forget(session, "zoe@mail.example.com")
    assert emails(people, query="zoë") == []
    assert emails(people, tag="Donor") == []
    assert "zoe@mail.example.com" not in emails(people)


def walk(db: Database, limit: int, **filters: object) -> tuple[list[int], list[int]]:
    """Every id forward page by page, then back from the end; no page is empty unless it
    is partial, no row comes twice."""
    forward: list[int] = []
    pages: list[SearchPage] = []
    with db.session() as session:
        page = search_subscribers(session, limit=limit, **filters)  # type: ignore[arg-type]
        assert page.prev_cursor is None
        while True:
            pages.append(page)
            assert len(page.rows) <= limit
            assert page.rows or page.partial or not page.has_more
            forward += [row.id for row in page.rows]
            if page.next_cursor is None:
                break
            page = search_subscribers(session, limit=limit, after=page.next_cursor, **filters)  # type: ignore[arg-type]
        backward: list[int] = []
        cursor = pages[-1].prev_cursor
        backward = [row.id for row in reversed(pages[-1].rows)]
        while cursor is not None:
            page = search_subscribers(session, limit=limit, before=cursor, **filters)  # type: ignore[arg-type]
            assert page.next_cursor is not None
            backward += [row.id for row in reversed(page.rows)]
            cursor = page.prev_cursor
    assert len(forward) == len(set(forward))
    return forward, backward


@pytest.fixture
def crowd(db: Database) -> tuple[Database, list[tuple[int, str, bool]]]:
    """60 subscribers, a random third on "odd" and some suppressed."""
    rnd = random.Random(15)
    made: list[tuple[int, str, bool]] = []
    with db.session() as session:
        create_list(session, "all")
        create_list(session, "odd")
        for n in range(60):
            name = rnd.choice(["Lee", "Ann", "Zoë"]) + f" {n}"
            odd = rnd.random() < 0.3
            sub = add_subscriber(session, f"p{n:02d}@example.org", "all", name=name)
            if odd:
                add_subscriber(session, f"p{n:02d}@example.org", "odd")
            made.append((sub.subscriber_id, name, odd))
            if rnd.random() < 0.2:
                unsubscribe(session, f"p{n:02d}@example.org")
    return db, made


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"query": "zoë"},
        {"list_name": "odd"},
        {"status": "suppressed"},
        {"query": "@example.org", "list_name": "odd"},
    ],
)
def test_pages_lose_and_repeat_nothing_forward_and_back(
    crowd: tuple[Database, list[tuple[int, str, bool]]],
    monkeypatch: pytest.MonkeyPatch,
    filters: dict[str, object],
) -> None:
    # Every page size and budget on one crowd: building it is most of a test's time.
    db, _ = crowd
    expected = sorted(row.id for row in _all(db, **filters))
    for step, budget in ((5, 10), (1000, 1000)):  # small budgets: pages stop part way
        for prefix in ("SCAN", "SUPPRESSED"):
            monkeypatch.setattr(search, f"{prefix}_STEP", step)
            monkeypatch.setattr(search, f"{prefix}_BUDGET", budget)
        for limit in (1, 4, 7, 100):
            forward, backward = walk(db, limit, **filters)
            assert forward == expected, (step, budget, limit)
            assert backward == expected[::-1], (step, budget, limit)


def _all(db: Database, **filters: object) -> list[search.SearchRow]:
    with db.session() as session:
        page = search_subscribers(session, limit=500, **filters)  # type: ignore[arg-type]
    assert not page.has_more
    return page.rows


def test_a_scan_stops_at_its_budget_and_says_so(
    crowd: tuple[Database, list[tuple[int, str, bool]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, made = crowd
    monkeypatch.setattr(search, "SCAN_STEP", 10)
    monkeypatch.setattr(search, "SCAN_BUDGET", 40)
    with db.session() as session:
        page = search_subscribers(session, query="no such name")
        assert page.rows == [] and page.partial and page.has_more
        slower = search.SLOWER.get(session.get_bind().dialect.name, 1)
        assert decode_cursor(page.next_cursor or "") == made[0][0] - 1 + 40 // slower
        quick = search_subscribers(session, limit=3)  # no scan: not bounded
        assert len(quick.rows) == 3 and not quick.partial


BAD_CURSORS = ["", "x", "czE6", "czE6LTE", "czE6MTI=", "czE6MTIz ", "ABCD" * 20, "czE6MTIzYQ", "é"]


def test_bad_cursors_are_clear_input_errors(people: Database) -> None:
    with people.session() as session:
        for cursor in BAD_CURSORS:
            for direction in ("after", "before"):
                with pytest.raises(BadCursor, match="not valid") as raised:
                    search_subscribers(session, **{direction: cursor})  # type: ignore[arg-type]
                assert isinstance(raised.value, ValueError)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_cursors_round_trip_and_are_url_safe(position: int) -> None:
    cursor = encode_cursor(position)
    assert decode_cursor(cursor) == position
    assert cursor.replace("-", "").replace("_", "").isalnum()


@given(st.text(max_size=60))
@settings(suppress_health_check=list(HealthCheck))
def test_any_other_text_is_a_bad_cursor_or_one_of_ours(text: str) -> None:
    try:
        position = decode_cursor(text)
    except BadCursor:
        return
    assert encode_cursor(position) == text


def test_bad_arguments(people: Database) -> None:
    with people.session() as session:
        assert search_subscribers(session, before=encode_cursor(0)).rows == []
        with pytest.raises(InputError, match="not one of"):
            search_subscribers(session, status="active")
        with pytest.raises(InputError, match="1 to 500"):
            search_subscribers(session, limit=0)
        with pytest.raises(InputError, match="not both"):
            search_subscribers(session, after=encode_cursor(1), before=encode_cursor(9))
        with pytest.raises(NotFound, match="known lists"):
            search_subscribers(session, list_name="nope")


def test_list_counts_by_status(people: Database) -> None:
    with people.session() as session:
        counts = {
            c.list.name: (c.unconfirmed, c.confirmed, c.unsubscribed) for c in list_counts(session)
        }
    assert counts == {"alerts": (2, 0, 1), "news": (0, 4, 1)}


def test_suppression_counts_by_reason(people: Database) -> None:
    with people.session() as session:
        forget(session, "bob@example.org")
        counts = suppression_counts(session)
    assert counts == {"unsubscribed": 1, "hard_bounce": 0, "complaint": 0, "forgotten": 1}
