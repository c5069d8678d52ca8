"""Campaigns: one article rendered once, sent to the confirmed members of some lists.

A campaign moves only along these lines, each move one guarded update so that two
processes cannot both make it::

    draft ──────────► sending ──► sent
      │    ▲           │  ▲  │
      ▼    │           ▼  │  └──► failed ──► (resume) sending
    scheduled ──► missed (its time passed while no scheduler ran; reschedule it)
      paused ◄── sent (reopen: unknown rows queued again)
      (every state but sent and cancelled can be cancelled)

What a person or a program does with a campaign goes through :mod:`.actions`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from mailer.addresses import has_control, normalize_address, parse_mailbox
from mailer.articles import Article
from mailer.campaigns.readiness import require_ready
from mailer.campaigns.tracking import add_tracking
from mailer.exceptions import InputError, InvalidMessage, NotFound, StateError, quoted
from mailer.settings import Settings
from mailer.storage import tallies
from mailer.storage.models import (
    Campaign,
    CampaignStatus,
    DeliveryStatus,
    MailingList,
)
from mailer.storage.types import utcnow
from mailer.subscribers.lists import get_list
from mailer.subscribers.segments import parse_segment

__all__ = [
    "MOVES",
    "CampaignPlan",
    "CampaignView",
    "Record",
    "archive_url",
    "campaign_sender",
    "campaign_view",
    "check_subject",
    "delivery_counts",
    "get_campaign",
    "list_campaigns",
    "list_ids",
    "move",
    "plan_campaign",
    "render_campaign",
    "require_campaign_ready",
    "store_campaign",
    "stored_articles",
]

S = CampaignStatus

#: What a caller keeps of an action (its audit entry), written in the transaction that
#: makes the change: stored with it or not at all, and never for an action refused.
Record = Callable[[Session], object]

#: Each action: the states it may start from, and the state it leads to.
MOVES: dict[str, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    "schedule": (frozenset({S.DRAFT, S.SCHEDULED}), S.SCHEDULED),
    "unschedule": (frozenset({S.SCHEDULED}), S.DRAFT),
    "send": (frozenset({S.DRAFT, S.SCHEDULED}), S.SENDING),
    "reschedule": (frozenset({S.SCHEDULED, S.MISSED}), S.SCHEDULED),
    "pause": (frozenset({S.SENDING}), S.PAUSED),
    "resume": (frozenset({S.PAUSED, S.FAILED, S.SENDING}), S.SENDING),
    "finish": (frozenset({S.SENDING}), S.SENT),
    "fail": (frozenset({S.SENDING}), S.FAILED),
    "cancel": (
        frozenset({S.DRAFT, S.SCHEDULED, S.SENDING, S.PAUSED, S.FAILED, S.MISSED}),
        S.CANCELLED,
    ),
    "miss": (frozenset({S.SCHEDULED}), S.MISSED),
    # A sent campaign with rows queued again (resend-unknown) waits to be resumed.
    "reopen": (frozenset({S.SENT}), S.PAUSED),
}


def archive_url(base_url: str, campaign_id: int) -> str:
    """The campaign's copy on the web (the view-in-browser link) at ``base_url``:
    ``settings.base_url``, or BASE_URL in what is stored, to be filled when it is sent."""
    return f"{base_url}/archive/{campaign_id}"


@dataclass(frozen=True)
class CampaignPlan:
    """A new campaign, checked and its article read, before anything is written."""

    lists: list[MailingList]
    subject: str | None
    segment: str
    from_address: str
    from_name: str
    reply_to: str | None
    articles: Article | list[Article]
    source: str
    stored: dict[str, Any]

    @property
    def first(self) -> Article:
        return self.articles if isinstance(self.articles, Article) else self.articles[0]


def plan_campaign(
    session: Session,
    settings: Settings,
    *,
    article: str | Article | Sequence[Article],
    lists: Sequence[str],
    subject: str | None = None,
    segment: str | None = None,
    from_address: str | None = None,
    from_name: str | None = None,
    reply_to: str | None = None,
) -> CampaignPlan:
    """Check what a new campaign is given, in the order a person fixes it (lists, subject,
    segment, sender), and read its article; InputError says what is wrong."""
    if not lists:
        raise InputError("a campaign needs at least one list (--list NAME)")
    if subject is not None:
        check_subject(subject)
    mailing_lists = [get_list(session, name) for name in dict.fromkeys(lists)]
    if segment:
        parse_segment(segment)
    sender, sender_name = campaign_sender(settings, from_address, from_name)
    if reply_to:
        normalize_address(reply_to)
    articles, source, stored = _read_article(article)
    return CampaignPlan(
        lists=mailing_lists,
        subject=subject,
        segment=segment or "",
        from_address=sender,
        from_name=sender_name,
        reply_to=reply_to if reply_to is not None else settings.reply_to,
        articles=articles,
        source=source,
        stored=stored,
    )


def campaign_sender(
    settings: Settings, from_address: str | None, from_name: str | None
) -> tuple[str, str]:
    """The sender's address and name: those given, else the settings'; refused when
    they could not go into a header, or when the settings cannot send as that address."""
    given = from_address or settings.from_address
    if not given:
        raise InputError("no sender: pass --from or set from_address in mailer.toml")
    try:
        mailbox = parse_mailbox(given)
    except InvalidMessage as err:
        raise InputError(f"the sender (--from, or from_address in mailer.toml): {err}") from None
    sender = mailbox.address
    # The name given, else the address's own ("The Weekly <news@...>"), else the publisher.
    sender_name = from_name if from_name is not None else mailbox.name or settings.publisher_name
    if has_control(sender_name):
        raise InputError(
            f"the sender's name (--from-name, or publisher_name in mailer.toml) holds a line "
            f"break or another control character: {quoted(sender_name)}"
        )
    normalize_address(sender)
    require_ready(settings, sender)
    return sender, sender_name


def _read_article(
    article: str | Article | Sequence[Article],
) -> tuple[Article | list[Article], str, dict[str, Any]]:
    """The article(s), where they came from, and what is stored of them."""
    from mailer.articles import load_article

    if isinstance(article, str):
        loaded = load_article(article)
        return loaded, article, loaded.to_dict()
    if isinstance(article, Article):
        return article, article.source, article.to_dict()
    items = list(article)
    source = ", ".join(a.url or a.source for a in items)
    return items, source, {"items": [a.to_dict() for a in items]}


def store_campaign(
    session: Session,
    plan: CampaignPlan,
    *,
    ctas: Sequence[str] | None,
    now: datetime | None,
) -> Campaign:
    """Write the planned campaign as a draft; its id is known from here on."""
    campaign = Campaign(
        uid=secrets.token_hex(8),
        subject=plan.subject or plan.first.title,
        status=S.DRAFT,
        from_address=plan.from_address,
        from_name=plan.from_name,
        reply_to=plan.reply_to,
        segment=plan.segment,
        ctas=list(ctas or []),
        source=plan.source,
        article=plan.stored,
        created_at=now or utcnow(),
        lists=plan.lists,
    )
    session.add(campaign)
    session.flush()  # the id goes into the view-in-browser link
    return campaign


def stored_articles(campaign: Campaign) -> Article | list[Article]:
    """The article (a digest's items) as the campaign stored it when it was composed."""
    stored = campaign.article
    if "items" in stored:
        return [Article.from_dict(item) for item in stored["items"]]
    return Article.from_dict(stored)


def render_campaign(
    campaign: Campaign,
    settings: Settings,
    plan: CampaignPlan,
    *,
    ctas: Sequence[str] | None,
    template: str | None,
    tracking: bool | None,
) -> None:
    """Render the stored campaign once (its id is in its links) and keep the result."""
    from mailer.rendering import render_email
    from mailer.rendering.rendered import BASE_URL

    rendered = render_email(
        plan.articles,
        settings,
        subject=plan.subject,
        ctas=list(ctas) if ctas else None,
        list_name=" and ".join(m.title for m in plan.lists),
        template=template,
        archive_url=archive_url(BASE_URL, campaign.id),
        campaign=f"campaign-{campaign.id}",
        list_default_cta=plan.lists[0].default_cta,
        base_url=BASE_URL,
    )
    campaign.rendered = rendered.to_dict()
    campaign.subject = plan.subject or rendered.subject
    campaign.tracking = settings.tracking if tracking is None else tracking
    if campaign.tracking:
        campaign.links = add_tracking(rendered.html)[1]


def check_subject(subject: str) -> None:
    """Refuse a subject no message could carry as typed. Stray ``{{`` and ``}}`` are
    found where the subject's expressions are compiled."""
    if not subject.strip():
        raise InputError("the subject is empty: leave --subject out for the article's title")
    if has_control(subject):
        raise InputError(
            f"the subject holds a line break or another control character: {quoted(subject)}"
        )
    try:
        subject.encode("utf-8")
    except UnicodeEncodeError:  # bytes a terminal passed on that are not UTF-8
        raise InputError(f"the subject is not valid UTF-8 text: {quoted(subject)}") from None
    if "{%" in subject or "%}" in subject:
        raise InputError(
            f"a subject takes {{{{ expressions }}}}, not {{% statements %}}: {quoted(subject)}"
        )


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).options(selectinload(Campaign.lists))
    )
    if campaign is None:
        raise NotFound("campaign", str(campaign_id), "mailer campaigns ls lists them")
    return campaign


def move(
    session: Session,
    campaign_id: int,
    action: str,
    *,
    reason: str = "",
    now: datetime | None = None,
    **values: Any,
) -> Campaign:
    """Make ``action``'s move in one guarded update; StateError says why it cannot be."""
    sources, target = MOVES[action]
    now = now or utcnow()
    extra: dict[str, Any] = {"status": target, "status_reason": reason, **values}
    if target is S.SENDING:
        extra.setdefault("started_at", func.coalesce(Campaign.started_at, now))
    if target in (S.SENT, S.CANCELLED, S.FAILED):
        extra.setdefault("finished_at", now)
    result = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(sources))
        .values(**extra)
        .execution_options(synchronize_session=False)
    )
    campaign = get_campaign(session, campaign_id)
    session.refresh(campaign)
    if getattr(result, "rowcount", 0) != 1:
        allowed = ", ".join(sorted(s.value for s in sources))
        raise StateError(
            f"campaign {campaign_id} is {campaign.status.value}: {action} works only on a "
            f"campaign that is {allowed}"
        )
    return campaign


@dataclass(frozen=True)
class CampaignView:
    """A campaign with its delivery counts, as listings show it."""

    campaign: Campaign
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        c = self.campaign
        return {
            "id": c.id,
            "subject": c.subject,
            "status": c.status.value,
            "status_reason": c.status_reason,
            "lists": [m.name for m in c.lists],
            "segment": c.segment,
            "tracking": c.tracking,
            "local_time": c.local_time,
            "from": c.from_address,
            "source": c.source,
            "created_at": c.created_at.isoformat(),
            "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
            "started_at": c.started_at.isoformat() if c.started_at else None,
            "finished_at": c.finished_at.isoformat() if c.finished_at else None,
            "deliveries": {s.value: self.counts.get(s.value, 0) for s in DeliveryStatus},
        }


def delivery_counts(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Each campaign's ledger rows by status, from the tallies (counting a million rows
    takes longer than a page may)."""
    return tallies.counts(session.connection(), campaign_ids)


def list_campaigns(session: Session, *, status: CampaignStatus | None = None) -> list[CampaignView]:
    query = select(Campaign).options(selectinload(Campaign.lists)).order_by(Campaign.id)
    if status is not None:
        query = query.where(Campaign.status == status)
    campaigns = session.scalars(query).all()
    counts = delivery_counts(session, [c.id for c in campaigns])
    return [CampaignView(c, counts.get(c.id, {})) for c in campaigns]


def campaign_view(session: Session, campaign_id: int) -> CampaignView:
    campaign = get_campaign(session, campaign_id)
    return CampaignView(campaign, delivery_counts(session, [campaign_id]).get(campaign_id, {}))


def list_ids(campaign: Campaign) -> list[int]:
    return sorted(m.id for m in campaign.lists)


def require_campaign_ready(session: Session, settings: Settings, campaign_id: int) -> None:
    """:func:`require_ready` for a stored campaign, with the sender stored with it."""
    campaign = get_campaign(session, campaign_id)
    require_ready(settings, campaign.from_address, campaign_id=campaign_id)
