"""Counting a campaign's recipients: each confirmed member once, the segment's only,
and past the sample's size an estimate that says it is one."""

from __future__ import annotations

from mailer.storage import Database
from mailer.subscribers.audience import Audience, count_recipients, sample_member
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber, unsubscribe


def _lists(db: Database) -> tuple[int, int]:
    """'a' with 40 confirmed members (every fourth a donor) and one who left; 'b' with
    the first ten of them and one of its own."""
    with db.session() as session:
        a, b = create_list(session, "a").id, create_list(session, "b").id
        for n in range(40):
            tags = ["donor"] if n % 4 == 0 else []
            add_subscriber(session, f"p{n}@example.org", "a", tags=tags, confirmed=True)
            if n < 10:
                add_subscriber(session, f"p{n}@example.org", "b", confirmed=True)
        add_subscriber(session, "gone@example.org", "a", confirmed=True)
        unsubscribe(session, "gone@example.org", "a")
        add_subscriber(session, "own@example.org", "b", confirmed=True)
    return a, b


def test_members_of_several_lists_count_once(db: Database) -> None:
    a, b = _lists(db)
    with db.session() as session:
        assert count_recipients(session, [a]) == Audience(40, 40, 40)
        assert count_recipients(session, [b]).count == 11
        assert count_recipients(session, [a, b]).count == 41
        assert count_recipients(session, []).count == 0


def test_a_segment_counts_exactly_within_the_sample(db: Database) -> None:
    a, b = _lists(db)
    with db.session() as session:
        audience = count_recipients(session, [a, b], "tag:donor")
    assert audience == Audience(10, 41, 41) and audience.exact
    assert audience.describe() == "10 recipients"


def test_past_the_sample_the_count_is_an_estimate_and_says_so(db: Database) -> None:
    a, _ = _lists(db)
    with db.session() as session:
        audience = count_recipients(session, [a], "tag:donor", sample=10)
    assert not audience.exact
    assert audience.members == 40 and 8 <= audience.sampled <= 10
    assert 0 <= audience.count <= 40
    assert audience.describe().startswith(f"about {audience.count} recipients (estimated")
    assert audience.as_dict()["exact"] is False


def test_the_sample_member_is_the_first_confirmed_one(db: Database) -> None:
    _, b = _lists(db)
    with db.session() as session:
        assert sample_member(session, [b]).email == "p0@example.org"  # type: ignore[union-attr]
        assert sample_member(session, []) is None
