"""Recurring digests: a feed's new items, sent to a list on a cron schedule.

Each run reads the feed, keeps the items not sent before (known by GUID, else link),
renders up to ``max_items`` of them with the digest template and creates and sends a
campaign. The items are recorded in the same transaction that creates the campaign, so
that a crash afterwards cannot send them twice: the campaign's ledger finishes the job.
A run with no new item sends nothing and records that it looked; a feed that cannot be
read is recorded as the run's error and tried again at the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mailer.articles import Article, load_feed
from mailer.campaigns import actions
from mailer.exceptions import AlreadyExists, InputError, MailerError, NotFound, quoted
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.models import Digest, DigestItem
from mailer.storage.types import utcnow
from mailer.subscribers.lists import get_list
from mailer.timezones import zone

__all__ = [
    "DigestRun",
    "create_digest",
    "digest_dict",
    "get_digest",
    "item_key",
    "list_digests",
    "next_run",
    "run_digest",
    "set_paused",
    "trigger",
]


def trigger(cron: str, timezone: str) -> CronTrigger:
    """The APScheduler trigger of a crontab line ("0 9 * * TUE") in a timezone."""
    try:
        return CronTrigger.from_crontab(cron, timezone=zone(timezone))
    except ValueError as err:
        raise InputError(
            f"cron {quoted(cron)} is not a crontab line (minute hour day month weekday, "
            f'like "0 9 * * TUE"): {err}'
        ) from None


def next_run(digest: Digest, now: datetime) -> datetime | None:
    if digest.paused:
        return None
    fire: datetime | None = trigger(digest.cron, digest.timezone).get_next_fire_time(None, now)
    return fire


def create_digest(
    session: Session,
    settings: Settings,
    name: str,
    *,
    feed: str,
    list_name: str,
    cron: str,
    timezone: str | None = None,
    subject: str = "",
    max_items: int = 10,
    ctas: Sequence[str] = (),
) -> Digest:
    name = name.strip()
    if not name or len(name) > 200:
        raise InputError("a digest needs a name of 1 to 200 characters")
    if session.scalar(select(Digest.id).where(Digest.name == name)) is not None:
        raise AlreadyExists("digest", name)
    if max_items < 1:
        raise InputError("--max-items must be at least 1")
    timezone = timezone or settings.timezone
    trigger(cron, timezone)
    digest = Digest(
        name=name,
        feed=feed,
        mailing_list=get_list(session, list_name),
        cron=cron,
        timezone=timezone,
        subject=subject,
        max_items=max_items,
        ctas=list(ctas),
        paused=False,
        last_result="",
        last_error="",
    )
    session.add(digest)
    session.flush()
    return digest


def get_digest(session: Session, name: str) -> Digest:
    found = session.scalar(select(Digest).where(Digest.name == name))
    if found is None:
        known = session.scalars(select(Digest.name).order_by(Digest.name)).all()
        raise NotFound("digest", name, "known: " + ", ".join(known) if known else "none yet")
    return found


def list_digests(session: Session) -> list[Digest]:
    """Every digest by name, with its list."""
    query = select(Digest).options(selectinload(Digest.mailing_list)).order_by(Digest.name)
    return list(session.scalars(query))


def set_paused(session: Session, name: str, paused: bool) -> Digest:
    """Stop (or start again) running a digest on its schedule; a run by hand still works."""
    digest = get_digest(session, name)
    digest.paused = paused
    return digest


def item_key(article: Article) -> str:
    return (article.guid or article.url or article.title)[:1000]


@dataclass(frozen=True)
class DigestRun:
    digest: str
    new_items: int
    campaign_id: int | None
    error: str = ""


def run_digest(
    database: Database, settings: Settings, name: str, *, now: datetime | None = None
) -> DigestRun:
    """Read the feed and create the campaign of its new items (None if there are none).
    The caller sends the campaign. A feed that cannot be read is recorded, not raised."""
    now = now or utcnow()
    with database.session() as session:
        digest = get_digest(session, name)
        feed, limit, list_name = digest.feed, digest.max_items, digest.mailing_list.name
        subject, ctas = digest.subject, list(digest.ctas)
        seen = set(session.scalars(select(DigestItem.key).where(DigestItem.digest_id == digest.id)))
    try:
        articles = load_feed(feed)
    except MailerError as err:
        _record(database, name, now, result="", error=str(err))
        return DigestRun(name, 0, None, str(err))
    fresh = [a for a in articles if item_key(a) not in seen][:limit]
    if not fresh:
        _record(database, name, now, result="no new items", error="")
        return DigestRun(name, 0, None)
    with database.session() as session:
        digest = get_digest(session, name)
        campaign = actions.create(
            session,
            settings,
            article=fresh,
            lists=[list_name],
            subject=subject or None,
            ctas=ctas or None,
            now=now,
        )
        for article in fresh:
            session.add(
                DigestItem(
                    digest_id=digest.id,
                    key=item_key(article),
                    title=article.title[:500],
                    campaign_id=campaign.id,
                    sent_at=now,
                )
            )
        digest.last_run_at = now
        digest.last_result = f"{len(fresh)} new items: campaign {campaign.id}"
        digest.last_error = ""
        return DigestRun(name, len(fresh), campaign.id)


def _record(database: Database, name: str, now: datetime, *, result: str, error: str) -> None:
    with database.session() as session:
        digest = get_digest(session, name)
        digest.last_run_at = now
        digest.last_result = result
        digest.last_error = error


def digest_dict(digest: Digest, now: datetime) -> dict[str, Any]:
    upcoming = next_run(digest, now)
    return {
        "name": digest.name,
        "feed": digest.feed,
        "list": digest.mailing_list.name,
        "cron": digest.cron,
        "timezone": digest.timezone,
        "subject": digest.subject,
        "max_items": digest.max_items,
        "cta": digest.ctas,
        "paused": digest.paused,
        "next_run": upcoming.isoformat() if upcoming else None,
        "last_run_at": digest.last_run_at.isoformat() if digest.last_run_at else None,
        "last_result": digest.last_result,
        "last_error": digest.last_error,
    }
