from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mailer.subscribers.segments import SegmentError, parse_segment


@dataclass
class Person:
    email: str = "ann@example.org"
    name: str = "Ann Lee"
    timezone: str | None = "Europe/Berlin"
    tags: list[str] = field(default_factory=lambda: ["donor"])
    attributes: dict[str, Any] = field(
        default_factory=lambda: {"country": "DE", "age": "42", "address": {"city": "Bonn"}}
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('tag:donor and attr.country == "DE"', True),
        ("tag:donor and attr.country == 'FR'", False),
        ("tag:press or tag:donor", True),
        ("not tag:donor", False),
        ("(tag:press or tag:donor) and not attr.age < 18", True),
        ("attr.age > 30", True),
        ("attr.age >= 43", False),
        ('attr.country in ["AT", "DE"]', True),
        ('attr.address.city == "Bonn"', True),
        ("attr.missing", False),
        ("attr.country", True),
        ('attr.missing != "x"', True),
        ('attr.missing == "x"', False),
        ("attr.missing < 3", False),
        ('domain == "example.org"', True),
        ('name contains "lee"', True),
        ('timezone != "Asia/Tokyo"', True),
        ("attr.age == 42", True),
    ],
)
def test_expressions(expression: str, expected: bool) -> None:
    assert parse_segment(expression).matches(Person()) is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "column 1: the segment is empty"),
        ("tag:donor and", "column 14: expected a condition"),
        ('attr.country = "DE"', "column 14: unexpected '='"),
        ("country == 'DE'", "column 1: unknown field 'country'"),
        ("(tag:a or tag:b", r"expected '\)'"),
        ("attr.c in 'DE'", "'in' needs a list"),
        ("tag:a tag:b", "column 7: unexpected 'tag:b'"),
    ],
)
def test_errors_name_the_column(expression: str, message: str) -> None:
    with pytest.raises(SegmentError, match=message):
        parse_segment(expression)


def test_tags_match_whatever_their_letter_case() -> None:
    # The sample list and Mailchimp exports write "Donor"; people type tag:donor.
    person = Person(tags=["Donor", "Straße"])
    assert parse_segment("tag:donor").matches(person)
    assert parse_segment("tag:DONOR and tag:STRASSE").matches(person)
    assert not parse_segment("tag:donors").matches(person)


@pytest.mark.parametrize(
    ("expression", "column"),
    [
        ("(" * 250 + "tag:a" + ")" * 250, 33),
        ("not " * 300 + "tag:a", 129),
        ("attr.x in " + "[" * 100 + "]" * 100, 43),
        ("(" * 20 + "not " * 20 + "tag:a" + ")" * 20, 69),
    ],
)
def test_deep_nesting_is_a_clear_error(expression: str, column: int) -> None:
    with pytest.raises(SegmentError) as caught:
        parse_segment(expression)
    message = str(caught.value)
    assert f"column {column}: nested more than 32 deep" in message
    assert len(message) < 200  # the expression is quoted in part only


def test_nesting_up_to_the_limit_works() -> None:
    assert parse_segment("(" * 32 + "tag:donor" + ")" * 32).matches(Person())
    assert parse_segment("not " * 32 + "tag:donor").matches(Person())
    assert parse_segment("(" * 16 + "not " * 16 + "tag:donor" + ")" * 16).matches(Person())


def test_a_segment_has_at_most_2000_characters() -> None:
    long = " or ".join(["tag:a"] * 400)
    assert len(long) > 2000
    with pytest.raises(SegmentError, match="at most 2,000 characters; this one has 3,596"):
        parse_segment(long)
    assert parse_segment(long[:1999].rsplit(" or ", 1)[0]).matches(Person()) is False


def test_a_thousand_nots_are_refused_for_their_length() -> None:
    with pytest.raises(SegmentError, match="at most 2,000 characters"):
        parse_segment("not " * 1000 + "tag:a")
