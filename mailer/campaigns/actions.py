"""The campaign's life as actions: create, edit, schedule, reschedule, unschedule, send,
test, pause, resume, cancel, resend the unknown, and miss (the scheduler's).

The command line, the API and the daemon are adapters over this module: they read their
input, call one action and show its answer, so that the same input gets the same answer
whichever way it comes in. An action takes plain values (ids, the text of a time,
settings, a Session or a Database, the time ``now``) and returns the campaign or a small
result; it raises the errors of :mod:`mailer.exceptions`. An action that one transaction
holds takes the caller's Session; one that spans several (cancel, send) takes the
Database. This is also the one place that builds a
:class:`~mailer.campaigns.sender.CampaignSender`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mailer.articles import Article
from mailer.campaigns import ledger
from mailer.campaigns import schedule as timing
from mailer.campaigns.records import (
    MOVES,
    CampaignPlan,
    Record,
    get_campaign,
    move,
    plan_campaign,
    render_campaign,
    require_campaign_ready,
    store_campaign,
    stored_articles,
)
from mailer.campaigns.sender import CampaignSender, Progress, SendOutcome, sender_gone
from mailer.campaigns.testsend import send_test as _send_test
from mailer.campaigns.when import read_time
from mailer.delivery.backends import get_backend
from mailer.delivery.base import Backend
from mailer.delivery.message import RecipientResult
from mailer.exceptions import StateError
from mailer.settings import Settings
from mailer.storage.database import Database
from mailer.storage.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from mailer.storage.retry import DatabaseRetry
from mailer.storage.types import utcnow

__all__ = [
    "Cancelled",
    "Record",
    "Resent",
    "Scheduled",
    "cancel",
    "check_startable",
    "create",
    "edit",
    "miss",
    "pause",
    "require_draft",
    "resend_unknown",
    "schedule",
    "send",
    "send_test",
    "sender_for",
    "unschedule",
]


def create(
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
    ctas: Sequence[str] | None = None,
    template: str | None = None,
    tracking: bool | None = None,
    source: str | None = None,
    article_input: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Campaign:
    """A new draft: ``article`` (a file or URL, an Article, or several for a digest)
    checked, rendered and stored with the campaign, so that a later edit of the file
    changes nothing that is sent. The links to the web app (masthead, view in browser,
    unsubscribe, tracking) are stored without its address: each send fills in the
    ``base_url`` in force then. ``source`` says where the article came from when the
    path it was read from means nothing afterwards; ``article_input`` is the article as
    the caller was given it (the composer's form), kept for :func:`edit` to show again."""
    plan = plan_campaign(
        session,
        settings,
        article=article,
        lists=lists,
        subject=subject,
        segment=segment,
        from_address=from_address,
        from_name=from_name,
        reply_to=reply_to,
    )
    if source is not None:
        plan = replace(plan, source=source)
    plan = replace(plan, stored=_kept(plan, article_input, subject, template))
    campaign = store_campaign(session, plan, ctas=ctas, now=now)
    render_campaign(campaign, settings, plan, ctas=ctas, template=template, tracking=tracking)
    return campaign


def _kept(
    plan: CampaignPlan,
    article_input: Mapping[str, Any] | None,
    subject: str | None,
    template: str | None,
) -> dict[str, Any]:
    """What is stored of the article, with what an edit needs of what was asked: the
    article's input, and the subject and template as given (None: the article's title,
    the usual template), since the rendered campaign no longer tells them apart."""
    stored = {**plan.stored, "given": {"subject": subject, "template": template}}
    if article_input is not None:
        stored["input"] = dict(article_input)
    return stored


#: Why a campaign that is not a draft cannot be edited, and what to do instead.
_NOT_EDITABLE = {
    CampaignStatus.SCHEDULED: "unschedule it first, then edit it",
    CampaignStatus.MISSED: "schedule it again as it is, or cancel it and compose a new one",
    CampaignStatus.SENDING: "some readers have it already: compose a new campaign instead",
    CampaignStatus.PAUSED: "some readers have it already: compose a new campaign instead",
    CampaignStatus.FAILED: "some readers may have it already: compose a new campaign instead",
    CampaignStatus.SENT: "it is sent: compose a new campaign instead",
    CampaignStatus.CANCELLED: "it is cancelled: compose a new campaign instead",
}


def require_draft(campaign: Campaign) -> None:
    """StateError, with what to do instead, for a campaign that is no longer a draft."""
    if campaign.status is not CampaignStatus.DRAFT:
        raise StateError(
            f"campaign {campaign.id} is {campaign.status.value}: only a draft can be edited "
            f"({_NOT_EDITABLE[campaign.status]})"
        )


def _hold_draft(session: Session, campaign: Campaign) -> None:
    """One guarded update holds the draft (a row lock on PostgreSQL) until the edit
    commits: a schedule or a send made meanwhile waits, or finds it changed."""
    held = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == CampaignStatus.DRAFT)
        .values(status=CampaignStatus.DRAFT)
        .execution_options(synchronize_session=False)
    )
    if getattr(held, "rowcount", 0) != 1:
        session.refresh(campaign)
        require_draft(campaign)


def edit(
    session: Session,
    settings: Settings,
    campaign_id: int,
    *,
    article: str | Article | Sequence[Article] | None = None,
    article_input: Mapping[str, Any] | None = None,
    source: str | None = None,
    subject: str | None = None,
    lists: Sequence[str] | None = None,
    segment: str | None = None,
    ctas: Sequence[str] | None = None,
) -> Campaign:
    """Change a draft and render it again, through the same checks as :func:`create`.
    What is None stays as it is: the article (its stored copy is rendered again), the
    subject (``""``: the article's title), the lists, the segment (``""``: everyone)
    and the calls-to-action (``[]``: the article's, the list's or the site's). Only a
    draft: StateError says what to do with a campaign that is scheduled or sent."""
    campaign = get_campaign(session, campaign_id)
    require_draft(campaign)  # before a web address is read for nothing
    stored = campaign.article
    given = stored.get("given", {"subject": campaign.subject, "template": None})
    if subject is not None:
        given = {**given, "subject": subject or None}
    if article is None:
        article = stored_articles(campaign)
        source = campaign.source if source is None else source
        article_input = stored.get("input") if article_input is None else article_input
    plan = plan_campaign(
        session,
        settings,
        article=article,
        lists=[m.name for m in campaign.lists] if lists is None else lists,
        subject=given["subject"],
        segment=campaign.segment if segment is None else segment,
        from_address=campaign.from_address,
        from_name=campaign.from_name,
        reply_to=campaign.reply_to,
    )
    if source is not None:
        plan = replace(plan, source=source)
    chosen = list(campaign.ctas) if ctas is None else list(ctas)
    _hold_draft(session, campaign)
    campaign.lists = plan.lists
    campaign.segment = plan.segment
    campaign.ctas = chosen
    campaign.source = plan.source
    campaign.article = _kept(plan, article_input, given["subject"], given["template"])
    render_campaign(
        campaign,
        settings,
        plan,
        ctas=chosen or None,
        template=given["template"],
        tracking=campaign.tracking,
    )
    session.flush()
    return campaign


@dataclass(frozen=True)
class Scheduled:
    campaign: Campaign
    #: The time as read: aware, in the zone it was given in, or (a local-time send) the
    #: naive wall-clock time.
    when: datetime


def schedule(
    session: Session,
    settings: Settings,
    campaign_id: int,
    at: str,
    *,
    now: datetime,
    tz: str | None = None,
    local_time: bool = False,
    again: bool = False,
    assume_zone: bool = True,
) -> Scheduled:
    """Schedule a draft at ``at`` as typed (``again``: move a scheduled or missed one).
    Without an offset, ``at`` is read in ``tz``, else in the configured zone (unless
    ``assume_zone`` is false: then it needs ``tz``); with ``local_time`` it is a
    wall-clock time in each subscriber's zone. The time must still be ahead."""
    when = read_time(
        at, tz=tz, local_time=local_time, default_zone=settings.zone if assume_zone else None
    )
    require_campaign_ready(session, settings, campaign_id)
    campaign = timing.schedule(
        session,
        campaign_id,
        when,
        now=now,
        again=again,
        local_time=local_time,
        default_zone=settings.timezone,
    )
    return Scheduled(campaign, when)


def unschedule(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """A scheduled campaign back to draft: it keeps everything but its time."""
    return timing.unschedule(session, campaign_id, now=now)


def miss(session: Session, campaign_id: int, *, reason: str, now: datetime) -> Campaign:
    """A scheduled campaign whose time passed too long ago to send it now."""
    return move(session, campaign_id, "miss", reason=reason, now=now)


def pause(
    session: Session, campaign_id: int, *, reason: str, now: datetime | None = None
) -> Campaign:
    """Pause a campaign being sent; its sender stops after the batch in hand."""
    return move(session, campaign_id, "pause", reason=reason, now=now)


@dataclass(frozen=True)
class Cancelled:
    campaign: Campaign
    #: Pending messages that will not be sent now.
    skipped: int
    #: Messages in flight when the campaign's sender died: they show as unknown.
    unknown: int


def cancel(
    database: Database,
    campaign_id: int,
    *,
    reason: str,
    now: datetime | None = None,
    record: Record | None = None,
) -> Cancelled:
    """Cancel a campaign for good: its pending messages are skipped. A live sender
    writes what became of its batch; a dead one's rows in flight become unknown.
    ``record`` is written with the move, which is the cancel: the ledger's rows follow
    in a transaction of their own, apart from a live sender's."""
    now = now or utcnow()
    with database.session() as session:
        campaign = move(session, campaign_id, "cancel", reason=reason, now=now)
        gone = sender_gone(campaign, now)
        if record is not None:
            record(session)
    with database.engine.begin() as conn:
        skipped = ledger.skip_pending(conn, campaign_id, "campaign cancelled")
        unknown = ledger.recover(conn, campaign_id) if gone else 0
    return Cancelled(campaign, skipped, unknown)


@dataclass(frozen=True)
class Resent:
    campaign: Campaign
    #: Unknown messages queued again.
    queued: int


def resend_unknown(session: Session, campaign_id: int) -> Resent:
    """Queue the campaign's ``unknown`` deliveries again (some may then arrive twice).
    A sent campaign is reopened, paused, for ``resume`` to send them. StateError says
    why it cannot be: a cancelled campaign sends nothing more, and one without unknown
    deliveries has nothing to queue."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status is CampaignStatus.CANCELLED:
        raise StateError(f"campaign {campaign_id} is cancelled: it sends nothing more")
    unknown, sending = session.execute(
        select(
            func.count().filter(Delivery.status == DeliveryStatus.UNKNOWN),
            func.count().filter(Delivery.status == DeliveryStatus.SENDING),
        ).where(Delivery.campaign_id == campaign_id)
    ).one()
    if not unknown:
        hint = (
            f" ({sending} are marked sending: if their sender died, mailer campaigns resume "
            f"{campaign_id} marks them unknown first)"
            if sending
            else ""
        )
        raise StateError(
            f"campaign {campaign_id} is {campaign.status.value} and has no unknown messages "
            f"to send again{hint}"
        )
    if campaign.status is CampaignStatus.SENT:
        move(session, campaign_id, "reopen", reason="unknown messages queued again")
    queued = ledger.resend_unknown(session.connection(), campaign_id)
    return Resent(get_campaign(session, campaign_id), queued)


def check_startable(
    session: Session, settings: Settings, campaign_id: int, *, resume: bool
) -> None:
    """Refuse, before any sender starts, settings that cannot send real mail, then a send
    (or ``resume``) that the campaign's state does not allow (the sender checks again)."""
    require_campaign_ready(session, settings, campaign_id)
    action = "resume" if resume else "send"
    status = get_campaign(session, campaign_id).status
    allowed = MOVES[action][0]
    if status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise StateError(
            f"campaign {campaign_id} is {status.value}: {action} works only on "
            f"a campaign that is {names}"
        )


def sender_for(
    database: Database,
    settings: Settings,
    backend: Backend | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    stop: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_wait: Callable[[int, int, float], None] | None = None,
    release_on_stop: bool = False,
    retry: DatabaseRetry | None = None,
) -> CampaignSender:
    """The sender every way in uses: the settings decide its batches, pace and backend
    (``backend`` replaces the configured one); the rest is how the caller watches it."""
    dispatcher = None
    stop = stop or threading.Event()
    if settings.dispatch == "procrastinate":
        from mailer.workers.dispatcher import QueueDispatcher

        # The batches go to mailer worker processes, wherever they run.
        dispatcher = QueueDispatcher(database, settings, retry=retry, stop=stop)
    return CampaignSender(
        database,
        settings,
        backend if backend is not None else get_backend(settings),
        clock=clock,
        stop=stop,
        dispatcher=dispatcher,
        on_progress=on_progress,
        on_wait=on_wait,
        release_on_stop=release_on_stop,
        retry=retry,
    )


def send(
    sender: CampaignSender,
    campaign_id: int,
    *,
    resume: bool = False,
    record: Record | None = None,
) -> SendOutcome:
    """Send a draft or scheduled campaign now, or (``resume``) go on with a paused or
    failed one, or one whose sender died; returns how it ended. ``record`` is written
    with the move that starts it."""
    if resume:
        return sender.resume(campaign_id, record=record)
    return sender.send(campaign_id, record=record)


def send_test(
    database: Database,
    settings: Settings,
    campaign_id: int,
    addresses: Sequence[str],
    *,
    backend: Backend | None = None,
) -> list[RecipientResult]:
    """The campaign's real message to ``addresses``, marked as a test, outside the ledger."""
    chosen = backend if backend is not None else get_backend(settings)
    return _send_test(database, settings, chosen, campaign_id, addresses)
