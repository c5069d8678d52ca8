"""A campaign's statistics, from its ledger and its events: sent, delivered, bounced,
opened, clicked (per link, and the calls-to-action apart), unsubscribed, complaints.

"Unique" counts messages: a reader who opens a campaign five times counts five times
in ``total`` and once in ``unique``. Events keep their ledger row's number after the
subscriber is forgotten, so forgetting someone changes no count here (only ``sent``,
which counts ledger rows, goes down by their one).

A link's call-to-action is the ``utm_content`` of its URL, which the renderer gives the
links of calls-to-action and no others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import ColumnElement, func, or_, select, union
from sqlalchemy.orm import Session

from mailer.campaigns.records import delivery_counts, get_campaign
from mailer.storage.events import Event, EventKind
from mailer.storage.models import Campaign, Delivery

__all__ = ["campaign_stats", "cta_of", "rates", "summaries"]


def cta_of(url: str) -> str | None:
    """The call-to-action a link belongs to (its ``utm_content``), if any."""
    values = parse_qs(urlsplit(url).query).get("utm_content")
    return values[0] if values else None


def _unique() -> ColumnElement[int]:
    # An event without a ledger row (one the webhook could not tie) counts on its own.
    return func.count(func.distinct(func.coalesce(Event.delivery_id, -Event.id)))


def _counts(total: int, unique: int) -> dict[str, int]:
    return {"unique": unique, "total": total}


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def rates(
    *, sent: int, delivered: int, opened: int, clicked: int, bounced: int, unsubscribed: int
) -> dict[str, float]:
    """The rates of unique counts: every page and answer that shows a rate takes it here."""
    # Of the messages known to have arrived, else of those handed over.
    base = delivered or sent
    return {
        "open": _rate(opened, base),
        "click": _rate(clicked, base),
        "click_to_open": _rate(clicked, opened),
        "bounce": _rate(bounced, sent),
        "unsubscribe": _rate(unsubscribed, base),
    }


def campaign_stats(session: Session, campaign_id: int) -> dict[str, Any]:
    """Everything counted about a campaign, as JSON-ready data; NotFound if none."""
    campaign = get_campaign(session, campaign_id)
    ledger = delivery_counts(session, [campaign_id]).get(campaign_id, {})
    in_campaign = Event.campaign_id == campaign_id
    by_kind: dict[tuple[EventKind, bool], tuple[int, int]] = {}
    for kind, hard, total, unique in session.execute(
        select(Event.kind, Event.hard, func.count(), _unique())
        .where(in_campaign)
        .group_by(Event.kind, Event.hard)
    ):
        by_kind[(EventKind(kind), bool(hard))] = (total, unique)

    def unique_of(kind: EventKind, hard: bool = False) -> int:
        return by_kind.get((kind, hard), (0, 0))[1]

    def counts_of(kind: EventKind) -> dict[str, int]:
        total, unique = by_kind.get((kind, False), (0, 0))
        return _counts(total, unique)

    links = list(campaign.links)
    link_rows = _link_rows(session, campaign_id, links)
    opened = counts_of(EventKind.OPENED)
    clicked = counts_of(EventKind.CLICKED)
    delivered = unique_of(EventKind.DELIVERED)
    sent = ledger.get("sent", 0)
    bounced = _hard_bounces(session, campaign_id)
    return {
        "id": campaign.id,
        "subject": campaign.subject,
        "status": campaign.status.value,
        "tracking": campaign.tracking,
        "sent": sent,
        "failed": ledger.get("failed", 0),
        "delivered": delivered,
        "deferred": unique_of(EventKind.DEFERRED),
        "bounced": bounced,
        "soft_bounced": unique_of(EventKind.BOUNCED, hard=False),
        "dropped": unique_of(EventKind.DROPPED),
        "opened": opened,
        "clicked": clicked,
        "cta_clicks": _cta_clicks(session, campaign_id, links),
        "unsubscribed": unique_of(EventKind.UNSUBSCRIBED),
        "complaints": unique_of(EventKind.COMPLAINED),
        "rates": rates(
            sent=sent,
            delivered=delivered,
            opened=opened["unique"],
            clicked=clicked["unique"],
            bounced=bounced,
            unsubscribed=unique_of(EventKind.UNSUBSCRIBED),
        ),
        "links": link_rows,
    }


def _hard_bounces(session: Session, campaign_id: int) -> int:
    """Messages bounced for good: by the provider's event or the SMTP server's answer."""
    by_event = select(Event.delivery_id).where(
        Event.campaign_id == campaign_id,
        Event.kind == EventKind.BOUNCED,
        Event.hard.is_(True),
        Event.delivery_id.is_not(None),
    )
    by_ledger = select(Delivery.id).where(
        Delivery.campaign_id == campaign_id, Delivery.bounced.is_(True)
    )
    tied = session.scalar(select(func.count()).select_from(union(by_event, by_ledger).subquery()))
    untied = session.scalar(
        select(func.count()).where(
            Event.campaign_id == campaign_id,
            Event.kind == EventKind.BOUNCED,
            Event.hard.is_(True),
            Event.delivery_id.is_(None),
        )
    )
    return (tied or 0) + (untied or 0)


def _link_rows(session: Session, campaign_id: int, links: list[str]) -> list[dict[str, Any]]:
    """One row per link of the campaign, then one per other URL clicked (the provider's
    own click tracking reports URLs, not our link numbers)."""
    clicks = Event.campaign_id == campaign_id, Event.kind == EventKind.CLICKED
    numbered = {
        index: (total, unique)
        for index, total, unique in session.execute(
            select(Event.link_index, func.count(), _unique())
            .where(*clicks, Event.link_index.is_not(None))
            .group_by(Event.link_index)
        )
    }
    rows: list[dict[str, Any]] = []
    for index, url in enumerate(links):
        total, unique = numbered.get(index, (0, 0))
        rows.append({"index": index, "url": url, "cta": cta_of(url), **_counts(total, unique)})
    for url, total, unique in session.execute(
        select(Event.url, func.count(), _unique())
        .where(*clicks, Event.link_index.is_(None))
        .group_by(Event.url)
        .order_by(func.count().desc())
    ):
        rows.append({"index": None, "url": url, "cta": cta_of(url), **_counts(total, unique)})
    return rows


def _cta_clicks(session: Session, campaign_id: int, links: list[str]) -> dict[str, Any]:
    by_name: dict[str, list[int]] = {}
    for index, url in enumerate(links):
        name = cta_of(url)
        if name is not None:
            by_name.setdefault(name, []).append(index)

    def count(indices: Iterable[int], urls: Iterable[str]) -> dict[str, int]:
        total, unique = session.execute(
            select(func.count(), _unique()).where(
                Event.campaign_id == campaign_id,
                Event.kind == EventKind.CLICKED,
                or_(Event.link_index.in_(list(indices)), Event.url.in_(list(urls))),
            )
        ).one()
        return _counts(total, unique)

    cta_urls = [links[i] for indices in by_name.values() for i in indices]
    everything = count([i for indices in by_name.values() for i in indices], cta_urls)
    return {
        **everything,
        "by_cta": {
            name: count(indices, [links[i] for i in indices])
            for name, indices in sorted(by_name.items())
        },
    }


_SUMMED = (EventKind.DELIVERED, EventKind.OPENED, EventKind.CLICKED, EventKind.UNSUBSCRIBED)


def summaries(session: Session, campaigns: Sequence[Campaign]) -> dict[int, dict[str, Any]]:
    """Each campaign's sent, delivered, opened, clicked and call-to-action clicks
    (unique) and :func:`rates`, counted as :func:`campaign_stats` counts them, with
    one query for all of them but the bounces and the calls-to-action."""
    ids = [c.id for c in campaigns]
    ledger = delivery_counts(session, ids)
    unique: dict[tuple[int | None, str], int] = {}
    for campaign_id, kind, count in session.execute(
        select(Event.campaign_id, Event.kind, _unique())
        .where(Event.campaign_id.in_(ids), Event.kind.in_(_SUMMED))
        .group_by(Event.campaign_id, Event.kind)
    ):
        unique[(campaign_id, EventKind(kind).value)] = count
    found: dict[int, dict[str, Any]] = {}
    for campaign in campaigns:
        counts = {kind.value: unique.get((campaign.id, kind.value), 0) for kind in _SUMMED}
        sent = ledger.get(campaign.id, {}).get("sent", 0)
        bounced = _hard_bounces(session, campaign.id)
        cta = _cta_clicks(session, campaign.id, list(campaign.links))["unique"]
        base = counts["delivered"] or sent
        found[campaign.id] = {
            "sent": sent,
            "delivered": counts["delivered"],
            "opened": counts["opened"],
            "clicked": counts["clicked"],
            "cta_clicked": cta,
            "bounced": bounced,
            "rates": {
                **rates(
                    sent=sent,
                    delivered=counts["delivered"],
                    opened=counts["opened"],
                    clicked=counts["clicked"],
                    bounced=bounced,
                    unsubscribed=counts["unsubscribed"],
                ),
                "cta_click": _rate(cta, base),
            },
        }
    return found
