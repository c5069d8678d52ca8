"""Mailing lists: create, edit, find, count, delete.

A list has a *name*, the slug that links and commands use (``/subscribe/weekly``,
``--list weekly``), and a *title*, what readers see ("The Weekly"). A new list's name
is refused, not changed, when it is not a slug: lower-casing it behind the user's back
would give a name other than the one they go on to type. Lists made before the rule
keep their names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.exceptions import AlreadyExists, InputError, NotFound, StateError, quoted
from mailer.storage import tallies
from mailer.storage.models import (
    Delivery,
    MailingList,
    Subscription,
    SubscriptionStatus,
    campaign_lists,
)
from mailer.timezones import zone

__all__ = [
    "NAME_PATTERN",
    "NAME_RULE",
    "TITLE_MAX",
    "ListCounts",
    "check_name",
    "check_timezone",
    "check_title",
    "create_list",
    "delete_list",
    "edit_list",
    "get_list",
    "list_counts",
]

NAME_MAX = 64
TITLE_MAX = 200
NAME_PATTERN = rf"^[a-z0-9][a-z0-9_-]{{0,{NAME_MAX - 1}}}$"
NAME_RULE = (
    f"a list name is 1 to {NAME_MAX} lower-case letters a-z, digits, '-' and '_', "
    "starting with a letter or digit (like weekly-news)"
)
_NAME = re.compile(NAME_PATTERN)
# Any control character, a line break included.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ListCounts:
    list: MailingList
    unconfirmed: int = 0
    confirmed: int = 0
    unsubscribed: int = 0

    @property
    def total(self) -> int:
        return self.unconfirmed + self.confirmed + self.unsubscribed

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.list.name,
            "title": self.list.title,
            "description": self.list.description,
            "double_opt_in": self.list.double_opt_in,
            "timezone": self.list.timezone,
            "default_cta": self.list.default_cta,
            "created_at": self.list.created_at.isoformat(),
            "confirmed": self.confirmed,
            "unconfirmed": self.unconfirmed,
            "unsubscribed": self.unsubscribed,
        }


def check_name(name: str) -> str:
    """``name`` if it is a slug; else InputError with the rule (and the slug of an
    upper-case name, which is the usual slip)."""
    if _NAME.fullmatch(name):
        return name
    hint = f"; did you mean {name.lower()!r}?" if _NAME.fullmatch(name.lower()) else ""
    raise InputError(f"list name {quoted(name)} is refused: {NAME_RULE}{hint}")


def check_title(title: str) -> str:
    """A title trimmed, on one line and at most TITLE_MAX characters; else InputError."""
    title = title.strip()
    if not title or len(title) > TITLE_MAX or _CONTROL.search(title):
        raise InputError(
            f"list title {quoted(title)} must be 1 to {TITLE_MAX} characters on one line"
        )
    return title


def check_timezone(value: str) -> str:
    zone(value)
    return value


def create_list(
    session: Session,
    name: str,
    *,
    title: str | None = None,
    description: str = "",
    double_opt_in: bool = False,
    timezone: str | None = None,
    default_cta: list[str] | None = None,
) -> MailingList:
    """A new list; its title is its name unless given."""
    check_name(name)
    title = check_title(title if title is not None else name)
    if session.scalar(select(MailingList.id).where(MailingList.name == name)) is not None:
        raise AlreadyExists("list", name)
    if timezone:
        check_timezone(timezone)
    mailing_list = MailingList(
        name=name,
        title=title,
        description=description,
        double_opt_in=double_opt_in,
        timezone=timezone or None,
        default_cta=list(default_cta) if default_cta else None,
    )
    session.add(mailing_list)
    session.flush()
    return mailing_list


def edit_list(
    session: Session,
    name: str,
    *,
    title: str | None = None,
    description: str | None = None,
    double_opt_in: bool | None = None,
    timezone: str | None = None,
    default_cta: list[str] | None = None,
) -> MailingList:
    """Change a list's title, description, double opt-in, timezone or default
    calls-to-action (what is None stays; an empty timezone or CTA list clears it)."""
    mailing_list = get_list(session, name)
    if title is not None:
        mailing_list.title = check_title(title)
    if timezone:
        check_timezone(timezone)
    if description is not None:
        mailing_list.description = description
    if double_opt_in is not None:
        mailing_list.double_opt_in = double_opt_in
    if timezone is not None:
        mailing_list.timezone = timezone or None
    if default_cta is not None:
        mailing_list.default_cta = list(default_cta) or None
    return mailing_list


def get_list(session: Session, name: str) -> MailingList:
    found = session.scalar(select(MailingList).where(MailingList.name == name))
    if found is None:
        known = session.scalars(select(MailingList.name).order_by(MailingList.name)).all()
        hint = "known lists: " + ", ".join(known) if known else "there are no lists yet"
        raise NotFound("list", name, hint)
    return found


def list_counts(session: Session, lists: Sequence[MailingList] | None = None) -> list[ListCounts]:
    """Every list (or those given) with its number of subscriptions per status.

    One query, a count per list and status, each a range of ix_subscriptions_list_status
    that is counted without reading a row: on SQLite about twice as fast as GROUP BY,
    which steps through an aggregate for every subscription (1,000,000 members: 100 ms
    rather than 180 ms).
    """
    if lists is None:
        lists = session.scalars(select(MailingList).order_by(MailingList.name)).all()
    if not lists:
        return []
    ids = [m.id for m in lists]
    counted = [
        select(func.count())
        .where(Subscription.list_id == MailingList.id, Subscription.status == status)
        .correlate(MailingList)
        .scalar_subquery()
        .label(status.value)
        for status in SubscriptionStatus
    ]
    rows = session.execute(select(MailingList.id, *counted).where(MailingList.id.in_(ids))).all()
    counts = {row[0]: dict(zip(SubscriptionStatus, row[1:], strict=True)) for row in rows}
    return [ListCounts(m, **{s.value: n for s, n in counts.get(m.id, {}).items()}) for m in lists]


def delete_list(session: Session, name: str) -> int:
    """Delete a list and its subscriptions (not the subscribers); returns how many
    subscriptions went with it."""
    mailing_list = get_list(session, name)
    used_by = session.scalars(
        select(campaign_lists.c.campaign_id)
        .where(campaign_lists.c.list_id == mailing_list.id)
        .order_by(campaign_lists.c.campaign_id)
    ).all()
    if used_by:
        ids = ", ".join(map(str, used_by))
        raise StateError(
            f"list {name!r} is a list of campaign {ids}: it stays while they do (their "
            "deliveries and statistics point to it)"
        )
    (counts,) = list_counts(session, [mailing_list])
    # Rows of campaigns that no longer name the list go with it, by cascade.
    tallies.take(session.connection(), Delivery.list_id == mailing_list.id)
    session.delete(mailing_list)
    return counts.total
