"""Subscribers made in bulk for the tests that send to a list."""

from __future__ import annotations

from mailer.storage import Database
from mailer.subscribers.lists import create_list
from mailer.subscribers.subscriptions import add_subscriber


def add_people(db: Database, list_name: str, count: int, **extra: object) -> list[str]:
    """``count`` confirmed readers on ``list_name`` (reader000@example.org, ...)."""
    emails = [f"reader{i:03d}@example.org" for i in range(count)]
    with db.session() as session:
        for i, email in enumerate(emails):
            add_subscriber(session, email, list_name, name=f"Reader {i}", **extra)  # type: ignore[arg-type]
    return emails


def weekly_list(db: Database, count: int = 25) -> list[str]:
    """A list 'weekly' with ``count`` confirmed readers."""
    with db.session() as session:
        create_list(session, "weekly")
    return add_people(db, "weekly", count)
