"""Mailing lists: create, find, count, delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.exceptions import AlreadyExists, InputError, NotFound, StateError, quoted
from mailer.storage.models import MailingList, Subscription, SubscriptionStatus, campaign_lists
from mailer.timezones import zone

__all__ = ["ListCounts", "check_timezone", "create_list", "delete_list", "get_list", "list_counts"]


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
            "description": self.list.description,
            "double_opt_in": self.list.double_opt_in,
            "timezone": self.list.timezone,
            "default_cta": self.list.default_cta,
            "created_at": self.list.created_at.isoformat(),
            "confirmed": self.confirmed,
            "unconfirmed": self.unconfirmed,
            "unsubscribed": self.unsubscribed,
        }


def check_timezone(value: str) -> str:
    zone(value)
    return value


def create_list(
    session: Session,
    name: str,
    *,
    description: str = "",
    double_opt_in: bool = False,
    timezone: str | None = None,
    default_cta: list[str] | None = None,
) -> MailingList:
    name = name.strip()
    if not name or len(name) > 200 or any(ch in name for ch in "\r\n\t"):
        raise InputError(f"list name {quoted(name)} must be 1 to 200 characters on one line")
    if session.scalar(select(MailingList.id).where(MailingList.name == name)) is not None:
        raise AlreadyExists("list", name)
    if timezone:
        check_timezone(timezone)
    mailing_list = MailingList(
        name=name,
        description=description,
        double_opt_in=double_opt_in,
        timezone=timezone or None,
        default_cta=list(default_cta) if default_cta else None,
    )
    session.add(mailing_list)
    session.flush()
    return mailing_list


def get_list(session: Session, name: str) -> MailingList:
    found = session.scalar(select(MailingList).where(MailingList.name == name))
    if found is None:
        known = session.scalars(select(MailingList.name).order_by(MailingList.name)).all()
        hint = "known lists: " + ", ".join(known) if known else "there are no lists yet"
        raise NotFound("list", name, hint)
    return found


def list_counts(session: Session, lists: Sequence[MailingList] | None = None) -> list[ListCounts]:
    """Every list (or those given) with its number of subscriptions per status."""
    if lists is None:
        lists = session.scalars(select(MailingList).order_by(MailingList.name)).all()
    rows = session.execute(
        select(Subscription.list_id, Subscription.status, func.count())
        .where(Subscription.list_id.in_([m.id for m in lists]))
        .group_by(Subscription.list_id, Subscription.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for list_id, status, count in rows:
        counts.setdefault(list_id, {})[SubscriptionStatus(status).value] = count
    return [ListCounts(m, **counts.get(m.id, {})) for m in lists]


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
    session.delete(mailing_list)
    return counts.total
