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
